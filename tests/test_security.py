"""What an attacker tries against accounts and other users' data, and what they get.

- another site's page logging a user out (a cookie-less cross-site POST) is refused, and the
  session lives on; the page's own log-out, and its retry at the next start, still work;
- `Origin` / `Referer` headers that are not URLs (`http://[`, port 99999, non-ASCII, empty,
  `null`, ...) on every endpoint that checks them: 403 with the usual body, nothing written;
- `X-Forwarded-For` does not reset the rate limits unless the operator trusts a proxy
  (`--forwarded-allow-ips`), against a real `offsync serve` process;
- another user's id answers exactly like an id nobody uses, on every id-addressed request
  (REST and sync), and nothing is written to their document;
- registrations are limited per client address (a default a person never meets, configurable),
  and neither limit can be raced by sending requests all at once.

In-process tests drive the real app on a real SQLite file through httpx's ASGI transport, each
client with its own address; the proxy tests start the real server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.registry import MODELS
from models.revisions import next_revision
from server import create_app
from server.app import DEFAULT_REGISTER_ATTEMPTS
from server.cli import main as cli_main
from tests.auth_helpers import (
    PASSWORD,
    assert_error,
    client_of,
    query,
    sign_up,
    sign_up_sync,
)
from tests.live_server import LiveServer

HOST = "test"  # the Host the in-process clients send (base_url http://test)
LOGIN_ATTEMPTS = 3


# ---- fixtures and helpers ---------------------------------------------------------------------

def make_app(tmp_path: Path, **options: Any):
    options = {"login_attempts": LOGIN_ATTEMPTS, "register_attempts": 1000, **options}
    return create_app(f"sqlite:///{tmp_path}/security.db", web_dir=tmp_path / "web", **options)


@contextlib.asynccontextmanager
async def running(app) -> AsyncIterator[Any]:
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def started(tmp_path: Path) -> AsyncIterator[Any]:
    async with running(make_app(tmp_path)) as app:
        yield app


def snapshot(app) -> dict[str, list[tuple]]:
    """Everything the database holds: equal snapshots, nothing was written."""
    return {table: query(app, f"SELECT * FROM {table} ORDER BY 1, 2")
            for table in ("documents", "meta", "conflicts", "users", "sessions")}


def cleared(response: httpx.Response) -> set[str]:
    """The cookies a response deletes (Max-Age=0)."""
    return {header.split("=", 1)[0] for header in response.headers.get_list("set-cookie")
            if "max-age=0" in header.lower()}


def form_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert 'data-testid="auth-error"' in response.text
    assert "Cross-site request refused" in response.text


# ---- 1. log-out from another site -------------------------------------------------------------

async def test_cross_site_logout_is_refused_and_the_session_survives(ada, anon, started):
    """A cross-site form post carries no SameSite=Lax cookie, so it reaches the server as a
    cookie-less log-out: it must not answer 204 with cookie-clearing headers."""
    before = snapshot(started)
    foreign = ({"Origin": "http://evil.example"}, {"Referer": "https://evil.example/page"},
               {"Origin": "null"}, {"Origin": f"http://{HOST}:8080"})
    for headers in foreign:
        response = await anon.post("/api/auth/logout", headers=headers)
        error = assert_error(response, 403, "CSRF_FAILED")
        assert "set-cookie" not in response.headers
        assert error["details"]["origin"] in headers.values()
    # with the cookie (a same-site attacker): no token is 403 as before, and a foreign Origin
    # is refused even with the token
    assert_error(await ada.post("/api/auth/logout", headers={"X-CSRF-Token": ""}),
                 403, "CSRF_FAILED")
    response = await ada.post("/api/auth/logout", headers={"Origin": "http://evil.example"})
    assert_error(response, 403, "CSRF_FAILED")
    assert "set-cookie" not in response.headers
    assert snapshot(started) == before  # the session row is still there
    session = await ada.get("/api/auth/session")
    assert session.status_code == 200 and session.json()["user"]["username"] == "ada"

    # this site's own page logs out; a script (no Origin) may too
    response = await ada.post("/api/auth/logout", headers={"Origin": f"http://{HOST}"})
    assert response.status_code == 204
    assert cleared(response) == {"offsync_session", "offsync_csrf"}
    assert_error(await ada.get("/api/auth/session"), 401, "NOT_AUTHENTICATED")
    assert (await anon.post("/api/auth/logout")).status_code == 204


async def test_logout_of_a_session_that_already_ended_still_works_from_this_site(ada, started):
    """The page retries a log-out at its next start (it could not reach the server): by then the
    session may have expired; its own origin still gets the cookies cleared."""
    query_db = sqlite3.connect(started.state.database_path)
    with contextlib.closing(query_db), query_db:
        query_db.execute("UPDATE sessions SET expires_at = 0")
    assert_error(await ada.get("/api/auth/session"), 401, "SESSION_EXPIRED")
    response = await ada.post("/api/auth/logout", headers={"Origin": f"http://{HOST}"})
    assert response.status_code == 204
    assert cleared(response) == {"offsync_session", "offsync_csrf"}
    refused = await ada.post("/api/auth/logout", headers={"Origin": "http://evil.example"})
    assert_error(refused, 403, "CSRF_FAILED")


# ---- 2. Origin / Referer that are not URLs ----------------------------------------------------

BAD_ORIGINS: list[str | bytes] = [
    "http://[", "http://[::1", "https://[zz]", "http://[::1]]", "http://a:99999",
    f"http://{HOST}:99999", f"http://{HOST}:65536", f"http://{HOST}:abc", f"http://{HOST}:-1",
    f"http://{HOST}: 80", "http://t\u00e9st".encode(), f"http://{HOST}\xff".encode("latin-1"),
    "", "   ", "null", "http://", HOST, f"//{HOST}", "javascript:alert(1)", f"ftp://{HOST}",
    f"http://user@{HOST}", f"http://{HOST}:80@evil.example", f"http://{HOST} x", "%", "[",
    "http://" + "a" * 10_000,
]


def origin_requests(account_username: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, path, httpx keywords) of every endpoint that checks Origin/Referer."""
    return [
        ("json", "/api/auth/register", {"json": {"username": "eve", "password": PASSWORD}}),
        ("json", "/api/auth/login",
         {"json": {"username": account_username, "password": PASSWORD}}),
        ("form", "/register", {"data": {"username": "eve", "password": PASSWORD}}),
        ("form", "/login", {"data": {"username": account_username, "password": PASSWORD}}),
        ("json", "/api/auth/logout", {}),
    ]


async def test_origins_that_are_not_urls_are_refused_everywhere(ada, anon, started):
    before = snapshot(started)
    token = ada.account.csrf
    for value in BAD_ORIGINS:
        for name in ("Origin", "Referer"):
            header = (name.lower().encode(), value if isinstance(value, bytes) else value.encode())
            for kind, path, kwargs in origin_requests("ada"):
                for client in (anon, ada):  # without a session, and with a live one (+ token)
                    headers = [header, (b"x-csrf-token", token.encode())]
                    response = await client.post(path, headers=headers, **kwargs)
                    assert "set-cookie" not in response.headers, (path, value)
                    if kind == "form":
                        form_refused(response)
                        continue
                    error = assert_error(response, 403, "CSRF_FAILED")
                    assert error["details"]["header"] == name
                    shown = value.decode("latin-1") if isinstance(value, bytes) else value
                    assert error["details"]["origin"] == shown[:200]
    assert snapshot(started) == before  # no account, no session made or ended
    assert (await ada.get("/api/auth/session")).status_code == 200
    # nothing counted towards the log-in limit: ada still logs in from the same address
    assert (await anon.post("/api/auth/login", json={"username": "ada", "password": PASSWORD},
                            headers={"Origin": f"http://{HOST}"})).status_code == 200


async def test_origin_wins_over_referer_and_a_well_formed_own_origin_passes(anon, started):
    good = {"Origin": f"HTTP://{HOST.upper()}", "Referer": "http://["}
    response = await anon.post("/api/auth/register",
                               json={"username": "eve", "password": PASSWORD}, headers=good)
    assert response.status_code == 201, response.text
    bad = {"Origin": "http://[", "Referer": f"http://{HOST}/register"}
    response = await anon.post("/api/auth/login", json={"username": "eve", "password": PASSWORD},
                               headers=bad)
    assert assert_error(response, 403, "CSRF_FAILED")["details"]["header"] == "Origin"


def test_origins_that_are_not_urls_through_the_real_server(tmp_path):
    """The same refusals through uvicorn and h11 (raw bytes in the header, no 500, no reset)."""
    server = LiveServer(tmp_path / "origins.db").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            account = sign_up_sync(client)
            for value in BAD_ORIGINS:
                raw = value if isinstance(value, bytes) else value.encode()
                if raw != raw.strip():
                    continue  # an HTTP client cannot send surrounding spaces (in-process above)
                for kind, path, kwargs in origin_requests(account.username):
                    response = client.post(path, headers=[(b"origin", raw)], **kwargs)
                    if kind == "form":
                        form_refused(response)
                    else:
                        assert_error(response, 403, "CSRF_FAILED")
            assert client.get("/api/auth/session").status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in "".join(server.output)


# ---- 3. X-Forwarded-For and the rate limits (a real server process) ---------------------------

def login(client: httpx.Client, username: str, password: str, forwarded_for: str,
          **headers: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       headers={"X-Forwarded-For": forwarded_for, **headers})


def register(client: httpx.Client, username: str, forwarded_for: str) -> httpx.Response:
    return client.post("/api/auth/register", json={"username": username, "password": PASSWORD},
                       headers={"X-Forwarded-For": forwarded_for})


def test_forwarded_for_does_not_reset_the_limits_by_default(tmp_path):
    server = LiveServer(tmp_path / "xff.db", options=("--register-attempts", "2")).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert register(client, "ada", "203.0.113.1").status_code == 201
            assert register(client, "bob", "203.0.113.2").status_code == 201
            assert_error(register(client, "carl", "203.0.113.3"), 429, "TOO_MANY_ATTEMPTS")
            client.cookies.clear()
            for attempt in range(5):  # the default limit: 5 failures per username and address
                assert_error(login(client, "ada", "wrong password", f"203.0.113.{10 + attempt}"),
                             401, "INVALID_CREDENTIALS")
            assert_error(login(client, "ada", "wrong password", "203.0.113.99"),
                         429, "TOO_MANY_ATTEMPTS")
            assert_error(login(client, "ada", PASSWORD, "198.51.100.7"), 429, "TOO_MANY_ATTEMPTS")
            # X-Forwarded-Proto is not believed either: no Secure cookie over plain HTTP
            ok = login(client, "bob", PASSWORD, "198.51.100.7", **{"X-Forwarded-Proto": "https"})
            assert ok.status_code == 200
            assert not any("secure" in h.lower() for h in ok.headers.get_list("set-cookie"))
    finally:
        server.stop()


def test_forwarded_for_is_honoured_from_a_trusted_proxy(tmp_path):
    options = ("--register-attempts", "2", "--forwarded-allow-ips", "127.0.0.1")
    server = LiveServer(tmp_path / "proxy.db", options=options).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert register(client, "ada", "203.0.113.1").status_code == 201
            assert register(client, "bob", "203.0.113.1").status_code == 201
            assert_error(register(client, "carl", "203.0.113.1"), 429, "TOO_MANY_ATTEMPTS")
            assert register(client, "carl", "203.0.113.2").status_code == 201  # another client
            client.cookies.clear()
            for _ in range(5):
                assert_error(login(client, "ada", "wrong password", "203.0.113.1"),
                             401, "INVALID_CREDENTIALS")
            assert_error(login(client, "ada", PASSWORD, "203.0.113.1"), 429, "TOO_MANY_ATTEMPTS")
            ok = login(client, "ada", PASSWORD, "203.0.113.2", **{"X-Forwarded-Proto": "https"})
            assert ok.status_code == 200, ok.text
            cookies = ok.headers.get_list("set-cookie")
            assert len(cookies) == 2 and all("secure" in h.lower() for h in cookies)
    finally:
        server.stop()


def test_forwarded_allow_ips_must_name_addresses(capsys):
    for bad in ("", "localhost", "127.0.0.1,,10.0.0.1", "10.0.0.0/33"):
        with pytest.raises(SystemExit) as exited:
            cli_main(["serve", "--forwarded-allow-ips", bad])
        assert exited.value.code == 2
        assert "--forwarded-allow-ips" in capsys.readouterr().err
    for bad in ("0", "-3", "many"):
        with pytest.raises(SystemExit):
            cli_main(["serve", "--register-attempts", bad])
        assert "--register-attempts" in capsys.readouterr().err


# ---- 4. another user's id answers like an unused one ------------------------------------------

def same_answer(foreign: httpx.Response, unused: httpx.Response, foreign_id: str,
                unused_id: str) -> None:
    """The two responses are equal byte for byte once the ids are swapped."""
    def seen(response: httpx.Response, id: str) -> tuple:
        headers = sorted((k, v.replace(id, "<id>")) for k, v in response.headers.items())
        return response.status_code, headers, response.text.replace(id, "<id>")

    assert seen(foreign, foreign_id) == seen(unused, unused_id)


def id_requests(rev: str) -> list[tuple[str, dict[str, Any]]]:
    put, patch = {"title": "bob was here"}, {"completed": True}
    return [
        ("GET", {}), ("HEAD", {}),
        ("PUT", {"json": put}), ("PUT", {"json": put, "headers": {"If-Match": rev}}),
        ("PUT", {"json": put, "headers": {"If-Match": "*"}}),
        ("PUT", {"json": put, "headers": {"If-Match": f'W/"{rev}"'}}),
        ("PUT", {"json": {"title": 5}}), ("PUT", {"json": {"title": "x", "owner": "bob"}}),
        ("PUT", {"json": {"id": "another", "title": "x"}}),
        ("PUT", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("PATCH", {"json": patch}), ("PATCH", {"json": patch, "headers": {"If-Match": rev}}),
        ("PATCH", {"json": {"title": 5}}),
        ("DELETE", {}), ("DELETE", {"headers": {"If-Match": rev}}),
    ]


@pytest.mark.parametrize("deleted", [False, True], ids=["live", "deleted"])
async def test_another_users_id_answers_exactly_like_an_unused_one(ada, bob, started, deleted):
    foreign_id, unused_id = secrets.token_hex(16), secrets.token_hex(16)
    made = await ada.post("/api/todos", json={"id": foreign_id, "title": "ada's secret plan"})
    assert made.status_code == 201, made.text
    rev = made.json()["_rev"]
    if deleted:
        assert (await ada.delete(f"/api/todos/{foreign_id}")).status_code == 200
    before = snapshot(started)
    for method, kwargs in id_requests(rev):
        foreign = await bob.request(method, f"/api/todos/{foreign_id}", **kwargs)
        unused = await bob.request(method, f"/api/todos/{unused_id}", **kwargs)
        assert 400 <= foreign.status_code < 500, (method, kwargs, foreign.text)
        same_answer(foreign, unused, foreign_id, unused_id)
        assert rev not in foreign.text and "secret" not in foreign.text
    assert snapshot(started) == before  # nothing written: not ada's todo, not a new one
    assert_error(await bob.get(f"/api/todos/{unused_id}"), 404, "NOT_FOUND")
    if not deleted:
        assert (await ada.get(f"/api/todos/{foreign_id}")).json() == made.json()


async def test_sync_diff_answers_another_users_id_like_an_unused_one(ada, bob, started):
    foreign_id, unused_id = secrets.token_hex(16), secrets.token_hex(16)
    made = (await ada.post("/api/todos", json={"id": foreign_id, "title": "ada's"})).json()
    rev = made["_rev"]
    later = next_revision(rev, {"title": "later"}, False)
    for change in ({"rev": rev, "prev": None}, {"rev": later, "prev": rev},
                   {"rev": next_revision(None, {"x": 1}, False), "prev": None}):
        def body(id: str, change: dict = change) -> dict:
            return {"protocol": 1, "changes": [{"id": id, "checkpoint": 1, "type": "update",
                                                 **change}]}

        foreign = await bob.post("/api/todos/sync/diff", json=body(foreign_id))
        unused = await bob.post("/api/todos/sync/diff", json=body(unused_id))
        same_answer(foreign, unused, foreign_id, unused_id)
        assert foreign.json()["missing"] == [foreign_id] and foreign.json()["conflicts"] == []


async def test_sync_push_to_another_users_id_learns_nothing_and_writes_nothing(ada, bob, started):
    """A push naming ada's id is refused alike whatever revision it names (hers, one after it,
    an unrelated one, a delete) and whether her todo is live or deleted: no `unchanged`, no
    `conflict`, no revision, no data. (That an id is taken at all is what any create learns.)"""
    foreign_id = secrets.token_hex(16)
    made = (await ada.post("/api/todos", json={"id": foreign_id, "title": "ada's"})).json()
    rev = made["_rev"]
    data = {**made, "title": "bob's now", "owner": bob.account.id}
    data.pop("_rev")
    later = next_revision(rev, data, False)
    pushes = [
        {"id": foreign_id, "rev": rev, "history": [], "data": {**data, "title": "ada's"}},
        {"id": foreign_id, "rev": later, "history": [rev], "data": data, "base_rev": rev},
        {"id": foreign_id, "rev": next_revision(None, data, False), "data": data},
        {"id": foreign_id, "rev": next_revision(rev, None, True), "history": [rev],
         "deleted": True, "data": None},
    ]
    answers = []
    for deleted in (False, True):
        if deleted:
            assert (await ada.delete(f"/api/todos/{foreign_id}")).status_code == 200
        before = snapshot(started)
        for doc in pushes:
            response = await bob.post("/api/todos/sync/apply",
                                      json={"protocol": 1, "docs": [doc]})
            assert response.status_code == 200, response.text
            [result] = response.json()["results"]
            assert result["status"] == "rejected" and result["current"] is None
            assert result["error"]["code"] == "ACCESS_DENIED"
            answers.append({k: v for k, v in result.items() if k != "rev"})
        assert snapshot(started) == before
    assert all(answer == answers[0] for answer in answers)


async def test_post_reusing_another_users_id_says_taken_alike_live_or_deleted(ada, bob, started):
    live_id, deleted_id = secrets.token_hex(16), secrets.token_hex(16)
    for id in (live_id, deleted_id):
        assert (await ada.post("/api/todos", json={"id": id, "title": "ada's"})).status_code == 201
    assert (await ada.delete(f"/api/todos/{deleted_id}")).status_code == 200
    before = snapshot(started)
    live = await bob.post("/api/todos", json={"id": live_id, "title": "bob's"})
    gone = await bob.post("/api/todos", json={"id": deleted_id, "title": "bob's"})
    assert assert_error(live, 409, "REVISION_CONFLICT")["details"] == {"id": live_id}
    same_answer(live, gone, live_id, deleted_id)
    assert snapshot(started) == before


# ---- 4b. shared lists: todolists, and todos in lists, probed by strangers and members ---------

LISTS, TODOS = "/api/todolists", "/api/todos"


def list_requests(rev: str) -> list[tuple[str, dict[str, Any]]]:
    """`id_requests` for a list's fields."""
    put = {"name": "bob's now", "members": {}}
    return [
        ("GET", {}), ("HEAD", {}),
        ("PUT", {"json": put}), ("PUT", {"json": put, "headers": {"If-Match": rev}}),
        ("PUT", {"json": {"name": 5}}), ("PUT", {"json": {"name": "x", "owner": "bob"}}),
        ("PATCH", {"json": {"members": {"bob": "editor"}}}),
        ("PATCH", {"json": {"name": "x"}, "headers": {"If-Match": rev}}),
        ("DELETE", {}), ("DELETE", {"headers": {"If-Match": rev}}),
    ]


async def made(client: httpx.AsyncClient, path: str, body: dict) -> dict:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def push(client: httpx.AsyncClient, collection: str, *docs: dict) -> list[dict]:
    """The results of a sync push of `docs` (at the model's version)."""
    version = MODELS[collection].version
    response = await client.post(f"/api/{collection}/sync/apply",
                                 json={"protocol": 1, "version": version, "docs": list(docs)})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def wire(body: dict, parent: str | None = None, deleted: bool = False) -> dict:
    """A wire doc of `body` (its `_rev` the parent unless given), one revision after it."""
    data = {k: v for k, v in body.items() if k != "_rev"}
    parent = parent if parent is not None else body.get("_rev")
    rev = next_revision(parent, None if deleted else data, deleted)
    return {"id": data["id"], "rev": rev, "history": [parent] if parent else [],
            "deleted": deleted, "data": None if deleted else data,
            **({"base_rev": parent} if parent else {})}


def refused(results: list[dict]) -> None:
    for result in results:
        assert result["status"] == "rejected" and result["current"] is None, result
        assert result["error"]["code"] == "ACCESS_DENIED", result
        assert result["error"]["message"].startswith("WRITE on "), result


@pytest.mark.parametrize("deleted", [False, True], ids=["live", "deleted"])
async def test_another_users_list_and_its_todo_answer_like_unused_ids(ada, bob, started,
                                                                      deleted):
    """A list bob is no member of, and a todo in it, answer every id-addressed request
    exactly like ids nobody uses; nothing is written."""
    plans = await made(ada, LISTS, {"name": "ada's secret plans"})
    todo = await made(ada, TODOS, {"title": "ada's secret plan", "list_id": plans["id"]})
    if deleted:
        assert (await ada.delete(f"{TODOS}/{todo['id']}")).status_code == 200
        assert (await ada.delete(f"{LISTS}/{plans['id']}")).status_code == 200
    before = snapshot(started)
    for path, body, requests in ((LISTS, plans, list_requests(plans["_rev"])),
                                 (TODOS, todo, id_requests(todo["_rev"]))):
        unused_id = secrets.token_hex(16)
        for method, kwargs in requests:
            foreign = await bob.request(method, f"{path}/{body['id']}", **kwargs)
            unused = await bob.request(method, f"{path}/{unused_id}", **kwargs)
            assert 400 <= foreign.status_code < 500, (path, method, kwargs, foreign.text)
            same_answer(foreign, unused, body["id"], unused_id)
            assert "secret" not in foreign.text and body["_rev"] not in foreign.text
        # a create reusing the id: taken, without a revision, alike live or deleted
        fields = {"name": "x"} if path == LISTS else {"title": "x"}
        taken = await bob.post(path, json={"id": body["id"], **fields})
        assert assert_error(taken, 409, "REVISION_CONFLICT")["details"] == {"id": body["id"]}
    assert snapshot(started) == before


async def test_list_ids_in_filters_and_counts_find_nothing_of_others(ada, bob, started):
    plans = await made(ada, LISTS, {"name": "plans"})
    await made(ada, TODOS, {"title": "secret", "list_id": plans["id"]})
    await made(ada, TODOS, {"title": "inbox secret"})
    for where in ({"list_id": plans["id"]}, {"list_id": f"inbox-{ada.account.id}"},
                  {"owner": ada.account.id}, {"title": "secret"}):
        found = await bob.get(TODOS, params={"filter": json.dumps({"where": where})})
        assert found.status_code == 200 and found.json() == [], (where, found.text)
        counted = await bob.get(f"{TODOS}/count", params={"where": json.dumps(where)})
        assert counted.json() == {"count": 0}, where
    for where in ({"id": plans["id"]}, {"owner": ada.account.id}, {"name": "plans"}):
        found = await bob.get(LISTS, params={"filter": json.dumps({"where": where})})
        assert found.json() == [], where
        assert (await bob.get(f"{LISTS}/count", params={"where": json.dumps(where)})).json() \
            == {"count": 0}


async def test_sync_pushes_claiming_others_lists_are_refused_and_write_nothing(
        ada, bob, started):
    """bob pushes: ada's list as his (a new revision with no history, one after hers, a
    delete), ada's default list under either owner, his own todo moved into ada's list or her
    default list, a todo of hers in her list. Each is refused alike, nothing is written."""
    plans = await made(ada, LISTS, {"name": "plans"})
    hers = await made(ada, TODOS, {"title": "hers", "list_id": plans["id"]})
    mine = await made(bob, TODOS, {"title": "bob's"})
    bob_id, ada_id = bob.account.id, ada.account.id
    before = snapshot(started)
    as_his = {**plans, "owner": bob_id, "name": "bob's now"}
    refused(await push(bob, "todolists",
                       wire(as_his, parent=""), wire(as_his),
                       wire(plans, deleted=True),
                       wire({**plans, "members": {bob_id: "editor"}})))
    inbox = {"id": f"inbox-{ada_id}", "name": "My todos", "members": {bob_id: "editor"}}
    [forged] = await push(bob, "todolists", wire({**inbox, "owner": ada_id}, parent=""))
    refused([forged])
    [claimed] = await push(bob, "todolists", wire({**inbox, "owner": bob_id}, parent=""))
    assert claimed["status"] == "rejected" and claimed["error"]["code"] == "VALIDATION_FAILED"
    assert "id" in claimed["error"]["details"], claimed
    refused(await push(bob, "todos",
                       wire({**mine, "list_id": plans["id"]}),
                       wire({**mine, "list_id": f"inbox-{ada_id}"}),
                       wire({**mine, "list_id": ada_id}),
                       wire({**hers, "title": "bob was here"}),
                       wire({**hers, "owner": bob_id}),
                       wire(hers, deleted=True),
                       wire({**hers, "id": secrets.token_hex(16), "owner": bob_id}, parent="")))
    assert snapshot(started) == before
    # REST alike: moving his todo into ada's list is refused as into a list nobody has
    for list_id in (plans["id"], f"inbox-{ada_id}", secrets.token_hex(16)):
        moved = await bob.patch(f"{TODOS}/{mine['id']}", json={"list_id": list_id})
        assert assert_error(moved, 403, "ACCESS_DENIED")["message"] == \
            "WRITE on todos is not allowed"
    assert snapshot(started) == before


async def test_a_list_may_not_take_a_users_id(ada, bob, started):
    """A list whose id is an account's id would make that account its owner (a document owned
    by a user's id is theirs): bob could put todos in front of ada, and ada rename bob's
    list. Such an id is refused, by REST and by sync, and nothing is written."""
    ada_id = ada.account.id
    before = snapshot(started)
    taken = await bob.post(LISTS, json={"id": ada_id, "name": "ada's now"})
    assert_error(taken, 409, "REVISION_CONFLICT")
    body = {"id": ada_id, "name": "x", "owner": bob.account.id, "members": {}}
    [result] = await push(bob, "todolists", wire(body, parent=""))
    assert result["status"] == "rejected" and result["current"] is None, result
    assert snapshot(started) == before
    pulled = (await ada.get("/api/todolists/sync/changes")).json()
    assert pulled["docs"] == [], pulled
    refused(await push(bob, "todos", wire({"id": secrets.token_hex(16), "title": "spam",
                                           "completed": False, "order": 1, "due": None,
                                           "owner": bob.account.id, "list_id": ada_id,
                                           "created_at": "2026-01-01T00:00:00.000Z",
                                           "updated_at": "2026-01-01T00:00:00.000Z"},
                                          parent="")))
    assert (await ada.get(TODOS)).json() == []


async def test_members_may_write_only_what_their_role_allows_by_sync_and_rest(
        ada, bob, started):
    """bob as viewer, then as editor, of ada's list: a viewer's edit, create and delete of its
    todos are refused; an editor's edit applies, but renaming, sharing or deleting the list,
    or forging who created a todo, is refused (sync and REST say the same)."""
    async with client_of(started, "198.51.100.3") as cy:
        cy.account = await sign_up(cy, "cyd")
        bob_id, cy_id = bob.account.id, cy.account.id
        shopping = await made(ada, LISTS, {"name": "Shopping", "members": {bob_id: "viewer"}})
        milk = await made(ada, TODOS, {"title": "milk", "list_id": shopping["id"]})
        new_todo = {**milk, "id": secrets.token_hex(16), "owner": bob_id}
        before = snapshot(started)
        refused(await push(bob, "todos", wire({**milk, "completed": True}),
                           wire(milk, deleted=True), wire(new_todo, parent="")))
        for method, kwargs in (("PATCH", {"json": {"completed": True}}),
                               ("PUT", {"json": {"title": "vi's"}}), ("DELETE", {})):
            answer = await bob.request(method, f"{TODOS}/{milk['id']}", **kwargs)
            assert assert_error(answer, 403, "ACCESS_DENIED")["message"] == \
                "WRITE on todos is not allowed"
        sneaked = await bob.post(TODOS, json={"title": "x", "list_id": shopping["id"]})
        assert_error(sneaked, 403, "ACCESS_DENIED")
        assert snapshot(started) == before

        shared = await ada.patch(f"{LISTS}/{shopping['id']}",
                                 json={"members": {bob_id: "editor"}})
        assert shared.status_code == 200, shared.text
        shopping = shared.json()
        before = snapshot(started)
        # (taking only himself out, {"members": {}}, is leaving: allowed, tests/test_sharing.py)
        for change in ({"name": "bob's"}, {"members": {bob_id: "editor", cy_id: "editor"}},
                       {"members": {cy_id: "viewer"}}, {"name": "bob's", "members": {}},
                       {"owner": bob_id}):
            refused(await push(bob, "todolists", wire({**shopping, **change})))
        refused(await push(bob, "todolists", wire(shopping, deleted=True)))
        refused(await push(bob, "todos", wire({**milk, "owner": bob_id}),
                           wire({**new_todo, "owner": cy_id}, parent="")))
        for method, kwargs in (("PATCH", {"json": {"members": {cy_id: "viewer"}}}),
                               ("PATCH", {"json": {"name": "bob's"}}),
                               ("PUT", {"json": {"name": "bob's", "members": {}}}),
                               ("DELETE", {})):
            answer = await bob.request(method, f"{LISTS}/{shopping['id']}", **kwargs)
            assert assert_error(answer, 403, "ACCESS_DENIED")["message"] == \
                "WRITE on todolists is not allowed"
        assert snapshot(started) == before
        [edited] = await push(bob, "todos", wire({**milk, "completed": True}))
        assert edited["status"] == "applied", edited
        assert (await ada.get(f"{TODOS}/{milk['id']}")).json()["completed"] is True
        # cy, a stranger all along, sees none of it
        for path in (f"{TODOS}/{milk['id']}", f"{LISTS}/{shopping['id']}"):
            assert_error(await cy.get(path), 404, "NOT_FOUND")


async def test_pulls_never_name_others_ids(ada, bob, started):
    """The changes, conflicts and diff answers of a stranger and of a viewer hold nothing of
    ada's but the list shared with the viewer: no id, no title, no list id in `owners`."""
    async with client_of(started, "198.51.100.3") as cy:
        cy.account = await sign_up(cy, "cyd")
        private = await made(ada, LISTS, {"name": "private"})
        shared = await made(ada, LISTS, {"name": "shared", "members": {cy.account.id: "viewer"}})
        secrets_ = [await made(ada, TODOS, {"title": "secret inbox"}),
                    await made(ada, TODOS, {"title": "secret list", "list_id": private["id"]})]
        gone = await made(ada, TODOS, {"title": "secret gone", "list_id": private["id"]})
        assert (await ada.delete(f"{TODOS}/{gone['id']}")).status_code == 200
        visible = await made(ada, TODOS, {"title": "visible", "list_id": shared["id"]})
        hidden = [private["id"], f"inbox-{ada.account.id}", gone["id"],
                  *(t["id"] for t in secrets_)]
        for client, expected_lists, expected_todos, unseen in (
                (bob, [], [], [*hidden, ada.account.id, shared["id"]]),
                (cy, [shared["id"]], [visible["id"]], hidden)):  # cy sees ada own the list
            for collection, expected in (("todolists", expected_lists),
                                         ("todos", expected_todos)):
                for params in ({}, {"since": "0", "full": "1"}, {"limit": "1"}):
                    version = {"version": str(MODELS[collection].version)}
                    page = (await client.get(f"/api/{collection}/sync/changes",
                                             params={**version, **params})).json()
                    assert [d["id"] for d in page["docs"]] == expected[:int(
                        params.get("limit", 100))], (collection, page)
                    text = json.dumps(page)
                    assert not any(id in text for id in unseen) and "secret" not in text, text
                    assert page["owners"] == sorted(
                        expected_lists + [f"inbox-{client.account.id}"]) + [
                        client.account.id], page
                conflicts = await client.get(f"/api/{collection}/sync/conflicts",
                                             params=version)
                assert conflicts.json()["conflicts"] == [], conflicts.text
        diff = await bob.post("/api/todolists/sync/diff", json={"protocol": 1, "changes": [
            {"id": private["id"], "rev": private["_rev"], "prev": None, "checkpoint": 1,
             "type": "create"}]})
        assert diff.json()["missing"] == [private["id"]], diff.text


async def test_a_conflict_on_a_lists_todo_is_shown_to_its_readers_only(ada, bob, started):
    """A conflict the server recorded on a todo of a shared list: its members see it in
    `sync/conflicts`; once removed from the list, or as a stranger, nothing of it."""
    async with client_of(started, "198.51.100.3") as cy:
        cy.account = await sign_up(cy, "cyd")
        shopping = await made(ada, LISTS, {"name": "Shopping",
                                           "members": {bob.account.id: "editor"}})
        milk = await made(ada, TODOS, {"title": "milk", "list_id": shopping["id"]})
        [mine] = await push(ada, "todos", wire({**milk, "title": "ada's milk"}))
        [theirs] = await push(bob, "todos", wire({**milk, "title": "bob's milk"}))
        assert (mine["status"], theirs["status"]) == ("applied", "conflict"), theirs

        def listed(client: httpx.AsyncClient):
            return client.get("/api/todos/sync/conflicts",
                              params={"version": str(MODELS["todos"].version)})

        for client in (ada, bob):
            assert [c["theirs"]["id"] for c in (await listed(client)).json()["conflicts"]] == \
                [milk["id"]]
        assert (await listed(cy)).json()["conflicts"] == []
        assert (await ada.patch(f"{LISTS}/{shopping['id']}",
                                json={"members": {}})).status_code == 200
        answer = await listed(bob)
        assert answer.json()["conflicts"] == [] and "milk" not in answer.text, answer.text


def test_openapi_describes_lists_like_todos(tmp_path):
    """The list model is served by the same generic routes: REST, count, sync, each in the
    spec, with its fields."""
    spec = make_app(tmp_path).state.openapi
    for collection in ("todos", "todolists"):
        paths = {path: sorted(ops) for path, ops in spec["paths"].items()
                 if path.startswith(f"/api/{collection}")}
        assert paths == {
            f"/api/{collection}": ["get", "post"],
            f"/api/{collection}/count": ["get"],
            f"/api/{collection}/{{id}}": ["delete", "get", "patch", "put"],
            f"/api/{collection}/sync/apply": ["post"],
            f"/api/{collection}/sync/changes": ["get"],
            f"/api/{collection}/sync/conflicts": ["get"],
            f"/api/{collection}/sync/diff": ["post"],
        }, paths
    text = json.dumps(spec)
    assert "TodoList" in text and '"editor"' in text and '"viewer"' in text


def test_a_strangers_probes_of_a_list_through_the_real_server(tmp_path):
    """The same answers through uvicorn: a list and its todo answer a stranger like unused ids
    on every id route, pushes claiming them are refused, the pulls hold nothing of them."""
    server = LiveServer(tmp_path / "lists.db").start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as ada, \
                httpx.Client(base_url=server.url, timeout=30) as bob:
            sign_up_sync(ada)
            sign_up_sync(bob)
            plans = ada.post(LISTS, json={"name": "secret plans"}).json()
            todo = ada.post(TODOS, json={"title": "secret", "list_id": plans["id"]}).json()
            for path, body, requests in ((LISTS, plans, list_requests(plans["_rev"])),
                                         (TODOS, todo, id_requests(todo["_rev"]))):
                unused_id = secrets.token_hex(16)
                for method, kwargs in requests:
                    foreign = bob.request(method, f"{path}/{body['id']}", **kwargs)
                    unused = bob.request(method, f"{path}/{unused_id}", **kwargs)
                    same_answer(foreign, unused, body["id"], unused_id)
            claim = {k: v for k, v in plans.items() if k != "_rev"}
            pushed = bob.post("/api/todolists/sync/apply", json={
                "protocol": 1, "version": MODELS["todolists"].version,
                "docs": [wire({**claim, "name": "bob's"}, parent=plans["_rev"])]})
            refused(pushed.json()["results"])
            for collection in ("todolists", "todos"):
                page = bob.get(f"/api/{collection}/sync/changes",
                               params={"version": str(MODELS[collection].version)}).json()
                assert page["docs"] == [] and "secret" not in json.dumps(page), page
                assert plans["id"] not in json.dumps(page)
            assert ada.get(f"{LISTS}/{plans['id']}").json()["name"] == "secret plans"
    finally:
        server.stop()
    assert "Traceback" not in "".join(server.output)


# ---- 5. the registration limit ----------------------------------------------------------------

async def test_registrations_are_limited_per_address_by_default(tmp_path):
    async with running(create_app(f"sqlite:///{tmp_path}/d.db", web_dir=tmp_path)) as app:
        async with client_of(app, "203.0.113.5") as script, \
                client_of(app, "203.0.113.6") as person:
            for i in range(DEFAULT_REGISTER_ATTEMPTS):
                response = await script.post("/api/auth/register",
                                             json={"username": f"bot{i}", "password": PASSWORD})
                assert response.status_code == 201, (i, response.text)
            response = await script.post("/api/auth/register",
                                         json={"username": "bot-more", "password": PASSWORD})
            error = assert_error(response, 429, "TOO_MANY_ATTEMPTS")
            retry_after = int(response.headers["retry-after"])
            assert 3000 < retry_after <= 3600 and error["details"] == {"retry_after": retry_after}
            assert "registrations" in error["message"] and str(retry_after) in error["message"]
            assert "set-cookie" not in response.headers
            form = await script.post("/register", data={"username": "bot-form",
                                                        "password": PASSWORD})
            assert form.status_code == 429 and form.headers["retry-after"]
            assert "Too many registrations" in form.text
            # counted per address: someone else registers; the script's accounts still log in
            assert (await person.post("/api/auth/register", json={
                "username": "person", "password": PASSWORD})).status_code == 201
            assert (await script.post("/api/auth/login", json={
                "username": "bot0", "password": PASSWORD})).status_code == 200
        users = {name for (name,) in query(app, "SELECT username FROM users")}
        assert users == {f"bot{i}" for i in range(DEFAULT_REGISTER_ATTEMPTS)} | {"person"}


async def test_taken_usernames_count_and_invalid_requests_do_not(tmp_path):
    async with running(make_app(tmp_path, register_attempts=3)) as app, \
            client_of(app, "203.0.113.7") as client:
        for _ in range(5):  # refused before counting: a bad username, a short password
            assert_error(await client.post("/api/auth/register", json={
                "username": "?", "password": PASSWORD}), 422, "VALIDATION_FAILED")
            assert_error(await client.post("/api/auth/register", json={
                "username": "eve", "password": "short"}), 422, "VALIDATION_FAILED")
        assert (await client.post("/api/auth/register", json={
            "username": "eve", "password": PASSWORD})).status_code == 201
        for _ in range(2):  # probing for existing usernames is counted
            assert_error(await client.post("/api/auth/register", json={
                "username": "eve", "password": PASSWORD}), 422, "VALIDATION_FAILED")
        assert_error(await client.post("/api/auth/register", json={
            "username": "new-name", "password": PASSWORD}), 429, "TOO_MANY_ATTEMPTS")


async def test_the_registration_limit_can_be_raised(tmp_path):
    raised = DEFAULT_REGISTER_ATTEMPTS + 5
    async with running(make_app(tmp_path, register_attempts=raised)) as app, \
            client_of(app, "203.0.113.8") as client:
        for i in range(raised):
            response = await client.post("/api/auth/register",
                                         json={"username": f"user{i}", "password": PASSWORD})
            assert response.status_code == 201, (i, response.text)
        assert_error(await client.post("/api/auth/register", json={
            "username": "one-more", "password": PASSWORD}), 429, "TOO_MANY_ATTEMPTS")


async def test_requests_sent_all_at_once_cannot_race_either_limit(tmp_path):
    """The attempt is counted before the password is hashed, with no await in between."""
    async with running(make_app(tmp_path, register_attempts=3)) as app:
        async with client_of(app, "203.0.113.9") as client:
            answers = await asyncio.gather(*(
                client.post("/api/auth/register", json={"username": f"racer{i}",
                                                        "password": PASSWORD})
                for i in range(12)))
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [201] * 3 + [429] * 9
        async with client_of(app, "203.0.113.10") as client:
            answers = await asyncio.gather(*(
                client.post("/api/auth/login", json={"username": "racer0", "password": "nope" * 3})
                for _ in range(12)))
            statuses = sorted(r.status_code for r in answers)
            assert statuses == [401] * LOGIN_ATTEMPTS + [429] * (12 - LOGIN_ATTEMPTS)
            assert_error(await client.post("/api/auth/login", json={
                "username": "racer0", "password": PASSWORD}), 429, "TOO_MANY_ATTEMPTS")


def test_openapi_describes_the_limits(tmp_path):
    spec = make_app(tmp_path).state.openapi
    assert "429" in spec["paths"]["/api/auth/register"]["post"]["responses"]
    put = spec["paths"]["/api/todos/{id}"]["put"]
    assert "201" not in put["responses"] and "404" in put["responses"]
    assert "Origin" in spec["paths"]["/api/auth/logout"]["post"]["description"]


# ---- in the browser ---------------------------------------------------------------------------

EVIL_ORIGIN = "http://evil.example"


@pytest.mark.browser
def test_another_sites_form_cannot_log_the_user_out(page, live_server):
    """A real cross-site form post from another origin, in Chromium: refused, still signed in."""
    from tests.browser_helpers import open_page
    from tests.browser_helpers import sign_up as sign_up_in_browser

    account = sign_up_in_browser(page, live_server.url)
    attack = (f'<form method="post" action="{live_server.url}/api/auth/logout"></form>'
              "<script>document.forms[0].submit()</script>")
    page.route(f"{EVIL_ORIGIN}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=attack))
    answers: list[tuple[int, dict]] = []
    page.on("response", lambda r: answers.append((r.status, r.headers))
            if r.url.endswith("/api/auth/logout") else None)
    with page.expect_response(lambda r: r.url.endswith("/api/auth/logout")):
        page.goto(f"{EVIL_ORIGIN}/prize.html")
    assert answers and answers[0][0] == 403 and "set-cookie" not in answers[0][1]
    assert page.request.get(live_server.url + "/api/auth/session").status == 200
    open_page(page, live_server.url + "/")
    assert page.get_by_test_id("current-user").inner_text() == account.username


@pytest.mark.browser
def test_a_log_out_that_could_not_reach_the_server_ends_the_session_at_the_next_start(
        page, live_server):
    from tests.browser_helpers import sign_up as sign_up_in_browser

    sign_up_in_browser(page, live_server.url)
    page.route("**/api/auth/logout", lambda route: route.abort())
    page.get_by_test_id("logout").click()
    page.wait_for_url(live_server.url + "/login")
    assert page.request.get(live_server.url + "/api/auth/session").status == 200  # not ended
    assert page.evaluate("() => localStorage.getItem('offsync:todo:logout')")
    page.unroute("**/api/auth/logout")
    with page.expect_response(lambda r: r.url.endswith("/api/auth/logout")) as ended:
        page.goto(live_server.url + "/")
    assert ended.value.status == 204
    page.wait_for_url(live_server.url + "/login")
    assert page.request.get(live_server.url + "/api/auth/session").status == 401
    assert page.evaluate("() => localStorage.getItem('offsync:todo:logout')") is None
