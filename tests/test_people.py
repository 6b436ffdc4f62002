"""Who is who, for sharing (server/people.py), black box through the app: a signed-in user
resolves a username to an id, and sees the usernames of those who share a list with them, no
one else's; and a member leaves a list (REST and sync), which is all a member may write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.people import LOOKUP_ATTEMPTS
from tests.auth_helpers import assert_error, client_of, sign_up

LOOKUP = "/api/users/lookup"
SHARED = "/api/users/shared"


@pytest.fixture
def app(tmp_path: Path):
    return create_app(f"sqlite:///{tmp_path}/people.db", web_dir=tmp_path / "web")


@pytest.fixture
async def started(app) -> AsyncIterator[Any]:
    async with app.router.lifespan_context(app):
        yield app


async def test_lookup_resolves_a_username_in_any_case(ada, bob):
    found = await ada.get(LOOKUP, params={"username": "BOB "})
    assert found.status_code == 200, found.text
    assert found.json() == {"user": {"id": bob.account.id, "username": "bob"}}
    assert found.headers["cache-control"] == "no-store"


async def test_lookup_unknown_is_404_garbage_400_anonymous_401(anon, ada):
    error = assert_error(await ada.get(LOOKUP, params={"username": "nobody"}), 404,
                         "USER_NOT_FOUND")
    assert "nobody" in error["message"]
    for garbage in ("", "a", "x" * 41, "bob smith", "../etc", "%00", "é" * 5):
        assert_error(await ada.get(LOOKUP, params={"username": garbage}), 400,
                     "INVALID_USERNAME")
    assert_error(await ada.get(LOOKUP), 400, "INVALID_USERNAME")
    assert (await ada.get(LOOKUP, params={"username": "bob\x00"})).status_code == 400
    for path in (LOOKUP + "?username=ada", SHARED):
        assert_error(await anon.get(path), 401, "NOT_AUTHENTICATED")
    assert_error(await ada.post(LOOKUP, params={"username": "ada"}), 405, "METHOD_NOT_ALLOWED")


async def test_lookups_are_limited_per_user(started, ada, bob):
    for _ in range(LOOKUP_ATTEMPTS):
        assert (await ada.get(LOOKUP, params={"username": "nobody"})).status_code == 404
    refused = await ada.get(LOOKUP, params={"username": "bob"})
    assert_error(refused, 429, "TOO_MANY_ATTEMPTS")
    assert int(refused.headers["retry-after"]) > 0
    assert (await bob.get(LOOKUP, params={"username": "ada"})).status_code == 200, \
        "another user's look-ups are theirs"


async def test_shared_names_only_people_who_share_a_list_with_the_caller(started, ada, bob):
    async with client_of(started, "198.51.100.3") as cy, \
            client_of(started, "198.51.100.4") as dee:
        cy.account, dee.account = await sign_up(cy, "cyd"), await sign_up(dee, "dee")
        made = await ada.post("/api/todolists", json={
            "name": "Trip", "members": {bob.account.id: "editor", cy.account.id: "viewer"}})
        assert made.status_code == 201, made.text
        everyone = sorted([("ada", ada.account.id), ("bob", bob.account.id),
                           ("cyd", cy.account.id)], key=lambda pair: pair[1])
        for client in (ada, bob, cy):
            users = (await client.get(SHARED)).json()["users"]
            assert sorted((u["username"], u["id"]) for u in users) == sorted(everyone)
        alone = (await dee.get(SHARED)).json()["users"]
        assert alone == [{"id": dee.account.id, "username": "dee"}], "a stranger sees only self"

        # cy leaves: they no longer see the others, nor the others them
        trip = made.json()
        left = await cy.patch(f"/api/todolists/{trip['id']}",
                              json={"members": {bob.account.id: "editor"}})
        assert left.status_code == 200, left.text
        assert [u["username"] for u in (await cy.get(SHARED)).json()["users"]] == ["cyd"]
        names = {u["username"] for u in (await ada.get(SHARED)).json()["users"]}
        assert names == {"ada", "bob"}
        assert_error(await cy.get(f"/api/todolists/{trip['id']}"), 404, "NOT_FOUND")


async def test_a_member_may_leave_but_not_change_anything_else(started, ada, bob):
    made = await ada.post("/api/todolists", json={
        "name": "Trip", "members": {bob.account.id: "viewer"}})
    trip = made.json()
    path = f"/api/todolists/{trip['id']}"
    refused = await bob.patch(path, json={"members": {}, "name": "Bob's"})
    assert_error(refused, 403, "ACCESS_DENIED")
    assert refused.json()["error"]["message"] == "WRITE on todolists is not allowed"
    assert_error(await bob.delete(path), 403, "ACCESS_DENIED")
    assert (await bob.patch(path, json={"members": {}})).status_code == 200
    assert (await ada.get(path)).json()["members"] == {}
    assert_error(await bob.patch(path, json={"members": {}}), 404, "NOT_FOUND")
