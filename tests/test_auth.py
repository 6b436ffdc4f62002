"""Accounts, sessions, CSRF, the log-in rate limit and per-user data, against a real app on a real
SQLite file. Two users, ada and bob, each on their own client (own cookies, own address): every
attempt of one to reach the other's todos, through REST or the sync protocol, must be refused,
leak nothing, and write nothing (checked in the database file itself)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from models import MemoryStore, RemoteStore, Todo, default_list_id, sync
from models.protocol import doc_to_wire
from models.revisions import next_revision
from models.todo import Todo as _Todo
from server import create_app
from server.accounts import SCRYPT_N, SCRYPT_P, SCRYPT_R, verify_password
from server.transport import HttpxTransport
from tests.auth_helpers import PASSWORD, assert_error, client_of, log_in, query, sign_up

PULL = {"version": str(_Todo.version)}  # a pull names the model version it runs

SECRET = "s3cret-horse-battery-staple"
CHANGES = "/api/todos/sync/changes"
APPLY = "/api/todos/sync/apply"
DIFF = "/api/todos/sync/diff"
CONFLICTS = "/api/todos/sync/conflicts"
ATTEMPTS = 3
WINDOW = 600


# ---- fixtures and helpers ---------------------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path):
    return create_app(f"sqlite:///{tmp_path}/auth.db", web_dir=tmp_path / "web",
                      login_attempts=ATTEMPTS, login_window_seconds=WINDOW)


@pytest.fixture
async def started(app) -> AsyncIterator[Any]:
    async with app.router.lifespan_context(app):
        yield app


def snapshot(app) -> dict[str, list[tuple]]:
    """Everything the store holds: equal snapshots, nothing was written."""
    return {
        "documents": query(app, "SELECT * FROM documents ORDER BY model, id"),
        "meta": query(app, "SELECT * FROM meta ORDER BY key"),
        "conflicts": query(app, "SELECT * FROM conflicts ORDER BY model, id"),
    }


def stored(app, id: str) -> tuple | None:
    rows = query(app, "SELECT rev, deleted, data, owner FROM documents WHERE model = 'todos' "
                      "AND id = ?", id)
    return rows[0] if rows else None


def cookies_set(response: httpx.Response) -> dict[str, dict[str, str]]:
    """The Set-Cookie headers: {name: {"value": ..., attribute (lower case): value}}."""
    out = {}
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        parsed = {"value": value}
        for attribute in attributes:
            key, _, val = attribute.partition("=")
            parsed[key.lower()] = val
        out[name] = parsed
    return out


async def create(client: httpx.AsyncClient, **body: Any) -> dict:
    response = await client.post("/api/todos", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def ids_listed(client: httpx.AsyncClient, filter_: dict | None = None) -> set[str]:
    params = {"filter": json.dumps(filter_)} if filter_ is not None else None
    response = await client.get("/api/todos", params=params)
    assert response.status_code == 200, response.text
    return {todo["id"] for todo in response.json()}


async def counted(client: httpx.AsyncClient, where: dict | None = None) -> int:
    params = {"where": json.dumps(where)} if where is not None else None
    response = await client.get("/api/todos/count", params=params)
    assert response.status_code == 200, response.text
    return response.json()["count"]


async def wire(client: httpx.AsyncClient, id: str) -> dict:
    """The document `id` as its owner pulls it (the wire doc)."""
    response = await client.get(CHANGES, params={**PULL, "full": "1", "limit": 5000})
    assert response.status_code == 200, response.text
    (doc,) = [doc for doc in response.json()["docs"] if doc["id"] == id]
    return doc


def child(doc: dict, data: dict | None, owner: str | None = None) -> dict:
    """A revision that descends from `doc`: an edit with `data`, or a tombstone when None."""
    deleted = data is None
    return {
        "id": doc["id"], "rev": next_revision(doc["rev"], data, deleted),
        "history": [doc["rev"], *doc["history"]], "deleted": deleted, "data": data,
        "type": "delete" if deleted else "update", "base_rev": doc["rev"],
        "base_data": doc["data"], "owner": owner if deleted else None,
    }


async def own_docs(owner: str, *titles: str) -> list[dict]:
    """Wire docs of new todos made offline by `owner` (so they carry that owner)."""
    store = MemoryStore()
    T = Todo.using(store).as_user(owner)
    for title in titles:
        await T.create(title=title)
    return [doc_to_wire(doc) for doc in await store.feed("todos", 0, 1000)]


# ---- registration, log-in, log-out, the session -----------------------------------------------

async def test_register_logs_in_with_httponly_lax_session_cookie(anon, started):
    response = await anon.post("/api/auth/register", json={"username": "ada", "password": SECRET})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"user", "csrf"} and body["user"]["username"] == "ada"
    assert len(body["user"]["id"]) == 32 and len(body["csrf"]) >= 32

    cookies = cookies_set(response)
    session = cookies["offsync_session"]
    assert "httponly" in session and session["samesite"].lower() == "lax"
    assert session["path"] == "/" and session["max-age"] == str(14 * 24 * 3600)
    assert "secure" not in session  # plain HTTP: a Secure cookie would never come back
    assert session["value"] and session["value"] != body["csrf"]
    csrf = cookies["offsync_csrf"]
    assert "httponly" not in csrf and csrf["samesite"].lower() == "strict"
    assert csrf["value"] == body["csrf"]  # the page reads it from here

    who = await anon.get("/api/auth/session")
    assert who.status_code == 200 and who.json() == body
    assert who.headers["cache-control"] == "no-store"


async def test_cookies_are_secure_over_https(started):
    async with client_of(started, base_url="https://test") as client:
        response = await client.post("/api/auth/register",
                                     json={"username": "ada", "password": SECRET})
        assert response.status_code == 201, response.text
        cookies = cookies_set(response)
        assert "secure" in cookies["offsync_session"] and "secure" in cookies["offsync_csrf"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"username": "ab", "password": SECRET}, {"username"}),
    ({"username": "has space", "password": SECRET}, {"username"}),
    ({"username": "x" * 41, "password": SECRET}, {"username"}),
    ({"username": "ada", "password": "short"}, {"password"}),
    ({"username": "ada", "password": "p" * 1025}, {"password"}),
    ({"username": 12345, "password": ["not", "a", "string"]}, {"username", "password"}),
    ({}, {"username", "password"}),
])
async def test_register_refuses_bad_input(anon, started, body, fields):
    response = await anon.post("/api/auth/register", json=body)
    error = assert_error(response, 422, "VALIDATION_FAILED")
    assert set(error["details"]) == fields
    assert "set-cookie" not in response.headers
    assert query(started, "SELECT COUNT(*) FROM users") == [(0,)]


async def test_username_is_taken_in_any_case(ada, anon, started):
    for name in ("ada", "ADA", "  Ada "):
        response = await anon.post("/api/auth/register",
                                   json={"username": name, "password": SECRET})
        error = assert_error(response, 422, "VALIDATION_FAILED")
        assert error["details"] == {"username": ["is already taken"]}
    assert query(started, "SELECT username FROM users") == [("ada",)]


async def test_log_in_is_case_insensitive_on_the_username(ada, anon):
    response = await anon.post("/api/auth/login", json={"username": " ADA ", "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["user"] == {"id": ada.account.id, "username": "ada"}
    assert "offsync_session" in cookies_set(response)


async def test_wrong_password_and_unknown_user_get_the_same_answer(ada, anon):
    wrong = await anon.post("/api/auth/login", json={"username": "ada", "password": "nope-nope"})
    unknown = await anon.post("/api/auth/login",
                              json={"username": "nobody", "password": "nope-nope"})
    for response in (wrong, unknown):
        assert_error(response, 401, "INVALID_CREDENTIALS")
        assert "set-cookie" not in response.headers
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message"] == "wrong username or password"
    assert_error(await anon.get("/api/auth/session"), 401, "NOT_AUTHENTICATED")


async def test_log_in_needs_both_fields(anon):
    error = assert_error(await anon.post("/api/auth/login", json={"username": "ada"}),
                         422, "VALIDATION_FAILED")
    assert set(error["details"]) == {"password"}


async def test_logout_ends_the_session(ada, started):
    token = ada.cookies["offsync_session"]
    assert len(query(started, "SELECT * FROM sessions")) == 1
    response = await ada.post("/api/auth/logout")
    assert response.status_code == 204
    cleared = cookies_set(response)
    assert cleared["offsync_session"]["max-age"] == "0"
    assert cleared["offsync_csrf"]["max-age"] == "0"
    assert "offsync_session" not in ada.cookies
    assert query(started, "SELECT * FROM sessions") == []
    assert_error(await ada.get("/api/auth/session"), 401, "NOT_AUTHENTICATED")

    async with client_of(started) as replay:  # the old cookie, sent again: it opens nothing
        replay.cookies.set("offsync_session", token)
        assert_error(await replay.get("/api/auth/session"), 401, "NOT_AUTHENTICATED")
        assert_error(await replay.get("/api/todos"), 401, "NOT_AUTHENTICATED")


async def test_logging_in_again_replaces_the_old_session(ada, started):
    old = ada.cookies["offsync_session"]
    await log_in(ada, ada.account)
    assert ada.cookies["offsync_session"] != old
    assert len(query(started, "SELECT * FROM sessions")) == 1
    async with client_of(started) as replay:
        replay.cookies.set("offsync_session", old)
        assert_error(await replay.get("/api/todos"), 401, "NOT_AUTHENTICATED")
    assert (await ada.get("/api/todos")).status_code == 200


async def test_sessions_table_keeps_only_a_hash_of_the_token(ada, started):
    token = ada.cookies["offsync_session"]
    ((token_hash, user_id, csrf, _),) = query(started, "SELECT * FROM sessions")
    assert token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert user_id == ada.account.id and csrf == ada.account.csrf
    assert token not in json.dumps(snapshot(started)) + token_hash


async def test_password_is_stored_as_a_salted_scrypt_hash(anon, started):
    for name in ("ada", "bob"):
        async with client_of(started) as client:
            await sign_up(client, name, SECRET)
    rows = dict(query(started, "SELECT username, password_hash FROM users"))
    assert set(rows) == {"ada", "bob"}
    for stored_hash in rows.values():
        scheme, n, r, p, salt, key = stored_hash.split("$")
        assert (scheme, int(n), int(r), int(p)) == ("scrypt", SCRYPT_N, SCRYPT_R, SCRYPT_P)
        assert SCRYPT_N >= 2**14 and salt and key
        assert SECRET not in stored_hash
        assert verify_password(SECRET, stored_hash)
        assert not verify_password(SECRET + "x", stored_hash)
    assert rows["ada"] != rows["bob"]  # the same password, different salts
    with open(started.state.database_path, "rb") as db:
        assert SECRET.encode() not in db.read()


async def test_password_is_never_logged_nor_sent_back(anon, started, caplog):
    caplog.set_level(logging.DEBUG)
    responses = [
        await anon.post("/api/auth/register", json={"username": "ada", "password": SECRET}),
        await anon.post("/api/auth/register", json={"username": "ada", "password": SECRET}),
        await anon.post("/api/auth/register", json={"username": "b", "password": SECRET}),
        await anon.post("/api/auth/register", json={"username": "bob", "password": SECRET[:5]}),
        await anon.post("/api/auth/login", json={"username": "ada", "password": SECRET + "!"}),
        await anon.post("/api/auth/login", json={"username": "ada", "password": SECRET}),
        await anon.post("/login", data={"username": "ada", "password": SECRET + "!"}),
        await anon.post("/register", data={"username": "ada", "password": SECRET}),
        await anon.post("/register", data={"username": "carl", "password": SECRET[:5]}),
    ]
    statuses = [response.status_code for response in responses]
    assert statuses == [201, 422, 422, 422, 401, 200, 401, 422, 422]
    for response in responses:
        assert SECRET[:5] not in response.text
    assert caplog.records  # something was logged, and none of it is a password
    assert SECRET[:5] not in caplog.text


async def test_expired_session_answers_session_expired(ada, started):
    todo = await create(ada, title="before expiry")
    started.state.store.db.execute("UPDATE sessions SET expires_at = ?", (time.time() - 1,))
    assert_error(await ada.get("/api/auth/session"), 401, "SESSION_EXPIRED")
    assert_error(await ada.get("/api/todos"), 401, "SESSION_EXPIRED")
    assert_error(await ada.get(CHANGES, params=PULL), 401, "SESSION_EXPIRED")
    # a write with the (valid-looking) CSRF token: 401, not 403, and nothing written
    before = snapshot(started)
    assert_error(await ada.patch(f"/api/todos/{todo['id']}", json={"title": "x"}),
                 401, "SESSION_EXPIRED")
    assert_error(await ada.post(APPLY, json={"protocol": 1, "docs": []}), 401, "SESSION_EXPIRED")
    assert snapshot(started) == before
    # an unknown token is not an expired one
    async with client_of(started) as other:
        other.cookies.set("offsync_session", "made-up")
        assert_error(await other.get("/api/todos"), 401, "NOT_AUTHENTICATED")
    # logging in again works, and the todos are still there
    await log_in(ada, ada.account)
    assert await ids_listed(ada) == {todo["id"]}


async def test_session_ttl_sets_the_cookie_and_the_expiry(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/ttl.db", web_dir=tmp_path, session_ttl_seconds=1234)
    async with app.router.lifespan_context(app), client_of(app) as client:
        before = time.time()
        response = await client.post("/api/auth/register",
                                     json={"username": "ada", "password": SECRET})
        after = time.time()
        assert cookies_set(response)["offsync_session"]["max-age"] == "1234"
        ((expires_at,),) = query(app, "SELECT expires_at FROM sessions")
        assert before + 1234 <= expires_at <= after + 1234


async def test_every_model_route_needs_a_session(started, anon):
    routes = [
        (route.path, method)
        for route in started.routes
        if isinstance(route, Route) and route.include_in_schema
        and route.path.startswith("/api/")
        and not route.path.startswith(("/api/auth/", "/api/docs"))
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]
    assert len(routes) >= 12  # checkpoint, 7 REST and 4 sync routes of todos
    async with client_of(started) as expired:
        await sign_up(expired, "ada")
        started.state.store.db.execute("UPDATE sessions SET expires_at = 0")
        for path, method in routes:
            url = path.replace("{id}", "some-id")
            body = {"protocol": 1, "docs": [], "changes": [], "title": "x"}
            kwargs = {"json": body} if method in ("POST", "PUT", "PATCH") else {}
            assert_error(await anon.request(method, url, **kwargs), 401, "NOT_AUTHENTICATED")
            assert_error(await expired.request(method, url, **kwargs), 401, "SESSION_EXPIRED")
    assert_error(await anon.get("/api/auth/session"), 401, "NOT_AUTHENTICATED")
    assert query(started, "SELECT COUNT(*) FROM documents") == [(0,)]
    # what stays public: the API description and the pages
    for public in ("/openapi.json", "/api/docs", "/login", "/register"):
        assert (await anon.get(public)).status_code == 200, public


# ---- the HTML pages ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["login", "register"])
async def test_form_pages(anon, kind):
    response = await anon.get(f"/{kind}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    for testid in (f"{kind}-page", f"{kind}-username", f"{kind}-password", f"{kind}-submit",
                   "auth-error"):
        assert f'data-testid="{testid}"' in page, testid
    assert f'action="/{kind}"' in page and 'type="password"' in page
    assert 'role="alert" hidden>' in page  # no error shown yet
    other = "register-link" if kind == "login" else "login-link"
    assert f'data-testid="{other}"' in page


async def test_register_form_signs_in_and_redirects(anon, started):
    response = await anon.post("/register", data={"username": "ada", "password": SECRET})
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookies = cookies_set(response)
    assert "httponly" in cookies["offsync_session"]
    who = await anon.get("/api/auth/session")
    assert who.status_code == 200 and who.json()["user"]["username"] == "ada"
    assert query(started, "SELECT username FROM users") == [("ada",)]


async def test_login_form_signs_in_and_redirects(ada, anon):
    response = await anon.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert set(cookies_set(response)) == {"offsync_session", "offsync_csrf"}
    assert (await anon.get("/api/auth/session")).json()["user"]["id"] == ada.account.id


async def test_failed_forms_show_the_error_and_keep_the_username(ada, anon):
    response = await anon.post("/login", data={"username": "ada", "password": "wrong-one"})
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert "Wrong username or password." in response.text
    assert 'value="ada"' in response.text and "wrong-one" not in response.text
    assert 'role="alert" hidden>' not in response.text

    response = await anon.post("/register", data={"username": "ADA", "password": SECRET})
    assert response.status_code == 422
    assert "Username is already taken." in response.text and 'value="ADA"' in response.text

    response = await anon.post("/register", data={"username": "carl", "password": "short"})
    assert response.status_code == 422
    assert "Password must be at least 8 characters." in response.text
    assert_error(await anon.get("/api/auth/session"), 401, "NOT_AUTHENTICATED")


async def test_failed_form_escapes_the_username(anon):
    name = '"><script>alert(1)</script>'
    response = await anon.post("/login", data={"username": name, "password": "whatever"})
    assert response.status_code == 401
    assert "<script>" not in response.text
    assert "&quot;&gt;&lt;script&gt;" in response.text


async def test_failed_form_fills_in_the_username_once(anon):
    """The pages are templates in web/templates/: a username that looks like a placeholder is
    shown as typed, never filled in again."""
    response = await anon.post("/login", data={"username": "$error ${username}", "password": "x"})
    assert response.status_code == 401
    assert 'value="$error ${username}"' in response.text


async def test_the_page_templates_are_not_served_raw(tmp_path):
    app = create_app(f"sqlite:///{tmp_path}/pages.db")  # the repository's web/, served
    async with app.router.lifespan_context(app), client_of(app) as client:
        assert (await client.get("/auth.css")).status_code == 200  # the pages' own CSS is
        for name in ("auth_form.html", "login.html"):
            assert_error(await client.get(f"/templates/{name}"), 404, "NOT_FOUND")


async def test_form_from_another_site_is_refused(ada, anon, started):
    for kind, password in (("login", PASSWORD), ("register", SECRET)):
        for header in ({"Origin": "http://evil.example"},
                       {"Referer": "http://evil.example/page"},
                       {"Origin": "null"}):
            response = await anon.post(f"/{kind}", data={"username": "ada", "password": password},
                                       headers=header)
            assert response.status_code == 403, (kind, header)
            assert "set-cookie" not in response.headers
            assert "Cross-site request refused" in response.text
    response = await anon.post("/login", data={"username": "ada", "password": PASSWORD},
                               headers={"Origin": "http://test"})
    assert response.status_code == 303


async def test_form_must_be_urlencoded(anon):
    response = await anon.post("/login", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 415 and 'data-testid="auth-error"' in response.text


# ---- REST: other users' todos -----------------------------------------------------------------

async def test_other_users_todo_is_not_found_for_every_verb(ada, bob, started):
    todo = await create(ada, title="ada's secret plan")
    rev = todo["_rev"]
    before = snapshot(started)

    unknown = await bob.get("/api/todos/no-such-id")
    assert_error(unknown, 404, "NOT_FOUND")
    attempts = [
        await bob.get(f"/api/todos/{todo['id']}"),
        await bob.put(f"/api/todos/{todo['id']}", json={"title": "bob was here"}),
        await bob.put(f"/api/todos/{todo['id']}", json={"title": "bob was here"},
                      headers={"If-Match": rev}),
        await bob.put(f"/api/todos/{todo['id']}", json={"title": "bob was here"},
                      headers={"If-Match": "*"}),
        await bob.patch(f"/api/todos/{todo['id']}", json={"completed": True}),
        await bob.patch(f"/api/todos/{todo['id']}", json={"completed": True},
                        headers={"If-Match": rev}),
        await bob.delete(f"/api/todos/{todo['id']}"),
        await bob.delete(f"/api/todos/{todo['id']}", headers={"If-Match": rev}),
    ]
    for response in attempts:
        error = assert_error(response, 404, "NOT_FOUND")
        # exactly what an unknown id gets: nothing tells bob the todo exists
        assert error == json.loads(unknown.text.replace("no-such-id", todo["id"]))["error"]
        assert rev not in response.text and "secret plan" not in response.text
        assert "etag" not in response.headers
    assert snapshot(started) == before
    got = await ada.get(f"/api/todos/{todo['id']}")
    assert got.status_code == 200 and got.json() == todo


async def test_other_users_deleted_todo_stays_theirs(ada, bob, started):
    todo = await create(ada, title="gone")
    assert (await ada.delete(f"/api/todos/{todo['id']}")).status_code == 200
    before = snapshot(started)
    assert_error(await bob.put(f"/api/todos/{todo['id']}", json={"title": "mine now"}),
                 404, "NOT_FOUND")
    error = assert_error(await bob.post("/api/todos", json={"id": todo["id"], "title": "mine"}),
                         409, "REVISION_CONFLICT")
    assert error["details"] == {"id": todo["id"]}
    assert snapshot(started) == before
    # the tombstone stays in ada's default list (a todo's owner column is its list)
    assert stored(started, todo["id"])[1:] == (1, None, default_list_id(ada.account.id))


async def test_post_with_other_users_id_conflicts_without_their_revision(ada, bob, started):
    todo = await create(ada, id="ada-made-this", title="ada's")
    before = snapshot(started)
    response = await bob.post("/api/todos", json={"id": "ada-made-this", "title": "bob's"})
    error = assert_error(response, 409, "REVISION_CONFLICT")
    assert error["details"] == {"id": "ada-made-this"}  # no current_rev
    assert todo["_rev"] not in response.text and "ada's" not in response.text
    assert snapshot(started) == before
    # ada reusing her own id does learn the revision
    own = assert_error(await ada.post("/api/todos", json={"id": "ada-made-this", "title": "x"}),
                       409, "REVISION_CONFLICT")
    assert own["details"]["current_rev"] == todo["_rev"]


async def test_lists_counts_and_filters_show_only_the_users_todos(ada, bob):
    adas = [await create(ada, title=f"ada {i}", completed=i == 0) for i in range(3)]
    bobs = [await create(bob, title=f"bob {i}", completed=i == 0) for i in range(2)]
    ada_ids, bob_ids = {t["id"] for t in adas}, {t["id"] for t in bobs}
    ada_id, bob_id = ada.account.id, bob.account.id

    assert await ids_listed(bob) == bob_ids and await ids_listed(ada) == ada_ids
    assert await counted(bob) == 2 and await counted(ada) == 3
    reaching = [
        {"owner": ada_id},
        {"owner": {"neq": bob_id}},
        {"owner": {"inq": [ada_id, bob_id]}, "title": {"like": "ada%"}},
        {"id": adas[0]["id"]},
        {"id": {"inq": sorted(ada_ids)}},
        {"or": [{"owner": ada_id}, {"id": adas[1]["id"]}]},
        {"title": {"like": "ada%"}},
    ]
    for where in reaching:
        assert await ids_listed(bob, {"where": where}) == set(), where
        assert await counted(bob, where) == 0, where
    assert await ids_listed(bob, {"where": {"or": [{"owner": ada_id}, {"owner": bob_id}]}}) \
        == bob_ids
    assert await ids_listed(bob, {"where": {"completed": True}}) == {bobs[0]["id"]}
    assert await counted(bob, {"completed": True}) == 1
    listed = (await bob.get("/api/todos", params={"filter": json.dumps(
        {"order": "owner DESC", "limit": 100})})).json()
    assert {t["owner"] for t in listed} == {bob_id}


async def test_owner_is_set_by_the_server(ada, bob, started):
    ada_id, bob_id = ada.account.id, bob.account.id
    made = await create(bob, title="mine?", owner=ada_id)
    assert made["owner"] == bob_id
    put = await bob.post("/api/todos", json={"id": "bob-put", "title": "put", "owner": ada_id})
    assert put.status_code == 201 and put.json()["owner"] == bob_id
    patched = await bob.patch(f"/api/todos/{made['id']}", json={"owner": ada_id, "title": "p"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["owner"] == bob_id and patched.json()["title"] == "p"
    replaced = await bob.put("/api/todos/bob-put", json={"title": "again", "owner": ada_id})
    assert replaced.status_code == 200 and replaced.json()["owner"] == bob_id
    creators = query(started, "SELECT DISTINCT json_extract(data, '$.owner'), owner "
                              "FROM documents")
    assert creators == [(bob_id, default_list_id(bob_id))], "bob's, in bob's default list"
    assert await counted(ada) == 0


# ---- sync: per-user feeds and pushes ----------------------------------------------------------

async def test_changes_feed_has_only_the_users_documents(ada, bob):
    ada_ids, bob_ids = [], []
    for i in range(3):  # interleaved, so checkpoints of both users alternate
        ada_ids.append((await create(ada, title=f"ada secret {i}"))["id"])
        if i < 2:
            bob_ids.append((await create(bob, title=f"bob {i}"))["id"])
    assert (await ada.delete(f"/api/todos/{ada_ids[2]}")).status_code == 200

    for params in ({}, {"full": "1"}, {"since": "0", "limit": "1000"}):
        page = await bob.get(CHANGES, params={**PULL, **params})
        assert page.status_code == 200, page.text
        body = page.json()
        assert [d["id"] for d in body["docs"]] == bob_ids
        assert body["remaining"] == 0
        assert "ada secret" not in page.text and ada.account.id not in page.text

    first = (await bob.get(CHANGES, params={**PULL, "limit": "1"})).json()
    assert [d["id"] for d in first["docs"]] == bob_ids[:1]
    assert first["remaining"] == 1  # only bob's second todo, not ada's three changes
    rest = (await bob.get(CHANGES, params={**PULL, "since": first["checkpoint"],
                                           "full": "1"})).json()
    assert [d["id"] for d in rest["docs"]] == bob_ids[1:] and rest["remaining"] == 0
    counted_only = (await bob.get(CHANGES, params={**PULL, "limit": "0"})).json()
    assert counted_only["docs"] == [] and counted_only["remaining"] == 2

    adas = (await ada.get(CHANGES, params={**PULL, "limit": "1"})).json()
    assert adas["remaining"] == 2
    everything = (await ada.get(CHANGES, params=PULL)).json()["docs"]
    assert [d["id"] for d in everything] == ada_ids[:2] + ada_ids[2:]
    assert everything[-1]["deleted"] is True
    assert everything[-1]["owner"] == default_list_id(ada.account.id), "a todo's owner: its list"


async def test_apply_rejects_other_users_documents_and_applies_the_rest(ada, bob, started):
    ada_id, bob_id = ada.account.id, bob.account.id
    target = await create(ada, title="ada keeps this")
    victim = await create(ada, title="ada keeps this too")
    own = await create(bob, title="bob's old title")
    dropped = await create(bob, title="bob drops this")
    ada_wire = await wire(ada, target["id"])
    victim_wire = await wire(ada, victim["id"])
    own_wire = await wire(bob, own["id"])
    dropped_wire = await wire(bob, dropped["id"])
    adas_before = {id: stored(started, id) for id in (target["id"], victim["id"])}

    edited = {**ada_wire["data"], "title": "edited by bob"}
    claimed = {**ada_wire["data"], "title": "bob's now", "owner": bob_id}
    new_docs = await own_docs(bob_id, "bob new 1", "bob new 2")
    (forged,) = await own_docs(ada_id, "in ada's name")
    batch = [
        child(ada_wire, edited),                                   # edit ada's todo
        new_docs[0],
        child(ada_wire, claimed),                                  # ... claiming it as bob's
        child(victim_wire, None, owner=bob_id),                    # delete ada's other todo
        child(own_wire, {**own_wire["data"], "title": "bob's new title"}),
        forged,                                                    # a new todo owned by ada
        new_docs[1],
        child(own_wire, {**own_wire["data"], "owner": ada_id}),    # give bob's todo to ada
        child(dropped_wire, None, owner=bob_id),                   # delete bob's own todo
    ]
    response = await bob.post(APPLY, json={"protocol": 1, "docs": batch})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["id"] for r in results] == [d["id"] for d in batch]
    assert [r["status"] for r in results] == [
        "rejected", "applied", "rejected", "rejected", "applied", "rejected", "applied",
        "rejected", "applied"]
    for result in (results[0], results[2], results[3], results[5], results[7]):
        assert result["current"] is None
        assert result["error"]["code"] == "ACCESS_DENIED"
        assert result["error"]["status"] == 403
    assert "ada keeps this" not in response.text
    assert ada_wire["rev"] not in response.text and victim_wire["rev"] not in response.text

    # ada's todos are untouched, nothing was made in her name; bob's changes are in
    assert {id: stored(started, id) for id in adas_before} == adas_before
    assert stored(started, forged["id"]) is None
    assert query(started, "SELECT COUNT(*) FROM documents WHERE owner = ?",
                 default_list_id(ada_id)) == [(2,)]
    assert stored(started, new_docs[0]["id"])[3] == default_list_id(bob_id)
    assert json.loads(stored(started, own["id"])[2])["owner"] == bob_id, "still bob's"
    assert json.loads(stored(started, own["id"])[2])["title"] == "bob's new title"
    assert stored(started, dropped["id"])[1:] == (1, None, bob_id)
    assert await ids_listed(bob) == {own["id"], new_docs[0]["id"], new_docs[1]["id"]}
    got = await ada.get(f"/api/todos/{target['id']}")
    assert got.json()["title"] == "ada keeps this" and got.json()["_rev"] == target["_rev"]


async def test_apply_refuses_a_document_with_no_owner(bob, started):
    (doc,) = await own_docs(bob.account.id, "ownerless")
    doc = {**doc, "data": {**doc["data"], "owner": None}, "owner": None}
    results = (await bob.post(APPLY, json={"protocol": 1, "docs": [doc]})).json()["results"]
    assert results[0]["status"] == "rejected"
    assert results[0]["error"]["code"] == "ACCESS_DENIED"
    assert stored(started, doc["id"]) is None


async def test_diff_answers_other_users_ids_as_missing(ada, bob):
    todo = await create(ada, title="ada's")
    mine = await create(bob, title="bob's")
    ada_doc, bob_doc = await wire(ada, todo["id"]), await wire(bob, mine["id"])

    def sibling(doc: dict) -> dict:
        """A change that moved on from the same parent differently: a conflict for the owner."""
        rev = next_revision(doc["history"][0] if doc["history"] else None,
                            {"title": "elsewhere"})
        return {"id": doc["id"], "rev": rev, "prev": None, "checkpoint": 1, "type": "create",
                "history": []}

    def known(doc: dict) -> dict:
        return {"id": doc["id"], "rev": doc["rev"], "prev": None, "checkpoint": 1,
                "type": "create", "history": []}

    changes = [sibling(ada_doc), known(ada_doc), sibling(bob_doc), known(bob_doc)]
    response = await bob.post(DIFF, json={"protocol": 1, "changes": changes})
    assert response.status_code == 200, response.text
    assert response.json()["missing"] == [todo["id"], todo["id"]]
    assert response.json()["conflicts"] == [mine["id"]]
    # the same question from ada: her todo is known, and the sibling would conflict
    own = (await ada.post(DIFF, json={"protocol": 1, "changes": changes[:2]})).json()
    assert own["missing"] == [] and own["conflicts"] == [todo["id"]]


async def test_conflicts_endpoint_lists_only_the_users_conflicts(ada, bob, started):
    todo = await create(ada, title="base")
    base = await wire(ada, todo["id"])
    assert (await ada.patch(f"/api/todos/{todo['id']}", json={"title": "server"})).status_code \
        == 200
    pushed = child(base, {**base["data"], "title": "client"})
    results = (await ada.post(APPLY, json={"protocol": 1, "docs": [pushed]})).json()["results"]
    assert results[0]["status"] == "conflict"
    assert query(started, "SELECT id FROM conflicts") == [(todo["id"],)]

    adas = (await ada.get(CONFLICTS, params=PULL)).json()["conflicts"]
    assert [c["theirs"]["id"] for c in adas] == [todo["id"]]
    bobs = await bob.get(CONFLICTS, params=PULL)
    assert bobs.status_code == 200 and bobs.json()["conflicts"] == []
    assert "client" not in bobs.text and todo["id"] not in bobs.text


async def test_sync_over_http_is_per_user(ada, bob, started):
    ada_local, bob_local = MemoryStore(), MemoryStore()
    A = Todo.using(ada_local).as_user(ada.account.id)
    B = Todo.using(bob_local).as_user(bob.account.id)
    for title in ("ada 1", "ada 2"):
        await A.create(title=title)
    await B.create(title="bob 1")
    # a todo bob's browser made in ada's name (a tampered client): the server refuses it
    forged = await Todo.using(bob_local).as_user(ada.account.id).create(title="forged")

    ada_sync = await sync(ada_local, RemoteStore(HttpxTransport(ada)), models=[Todo])
    bob_sync = await sync(bob_local, RemoteStore(HttpxTransport(bob)), models=[Todo])
    assert ada_sync.push.rejected == []
    assert [r["id"] for r in bob_sync.push.rejected] == [forged.id]
    assert bob_sync.push.rejected[0]["error"]["code"] == "ACCESS_DENIED"
    assert stored(started, forged.id) is None

    # a fresh device of bob's pulls only bob's todo
    fresh = MemoryStore()
    await sync(fresh, RemoteStore(HttpxTransport(bob)), models=[Todo])
    assert [t.title for t in await Todo.using(fresh).find()] == ["bob 1"]
    ada_fresh = MemoryStore()
    await sync(ada_fresh, RemoteStore(HttpxTransport(ada)), models=[Todo])
    assert sorted(t.title for t in await Todo.using(ada_fresh).find()) == ["ada 1", "ada 2"]


# ---- CSRF -------------------------------------------------------------------------------------

async def test_writes_with_the_session_cookie_need_the_csrf_token(bob, ada, started):
    todo = await create(bob, title="kept")
    token = bob.headers.pop("X-CSRF-Token")
    before = snapshot(started)
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ada.account.csrf}):
        attempts = [
            await bob.post("/api/todos", json={"title": "forged"}, headers=headers),
            await bob.put(f"/api/todos/{todo['id']}", json={"title": "forged"}, headers=headers),
            await bob.patch(f"/api/todos/{todo['id']}", json={"title": "forged"},
                            headers=headers),
            await bob.delete(f"/api/todos/{todo['id']}", headers=headers),
            await bob.post(APPLY, json={"protocol": 1, "docs": await own_docs(
                bob.account.id, "forged")}, headers=headers),
            await bob.post("/api/auth/logout", headers=headers),
        ]
        for response in attempts:
            assert_error(response, 403, "CSRF_FAILED")
    assert snapshot(started) == before
    # reads need no token; the session survived the refused log-out
    assert (await bob.get("/api/todos")).status_code == 200
    assert (await bob.get("/api/auth/session")).status_code == 200
    assert (await bob.get(CHANGES, params=PULL)).status_code == 200
    # with the right token, the same writes go through
    made = await bob.post("/api/todos", json={"title": "real"}, headers={"X-CSRF-Token": token})
    assert made.status_code == 201
    patched = await bob.patch(f"/api/todos/{todo['id']}", json={"title": "changed"},
                              headers={"X-CSRF-Token": token})
    assert patched.status_code == 200
    assert (await bob.post("/api/auth/logout", headers={"X-CSRF-Token": token})).status_code \
        == 204


async def test_log_in_and_register_refuse_other_origins(ada, anon, started):
    for path, body in (("/api/auth/register", {"username": "eve", "password": SECRET}),
                       ("/api/auth/login", {"username": "ada", "password": PASSWORD})):
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://test:8080"},
                        {"Referer": "https://evil.example/x"}, {"Origin": "null"}):
            response = await anon.post(path, json=body, headers=headers)
            assert_error(response, 403, "CSRF_FAILED")
            assert "set-cookie" not in response.headers
    assert query(started, "SELECT username FROM users") == [("ada",)]
    # the same requests from this site (or from a script, with neither header) are fine
    ok = await anon.post("/api/auth/register", json={"username": "eve", "password": SECRET},
                         headers={"Origin": "http://test"})
    assert ok.status_code == 201
    ok = await anon.post("/api/auth/login", json={"username": "ada", "password": PASSWORD},
                         headers={"Referer": "http://test/login"})
    assert ok.status_code == 200
    assert (await anon.post("/api/auth/login",
                            json={"username": "ada", "password": PASSWORD})).status_code == 200


async def test_writes_without_a_session_get_401_not_403(anon, started):
    assert_error(await anon.post("/api/todos", json={"title": "x"}), 401, "NOT_AUTHENTICATED")
    assert query(started, "SELECT COUNT(*) FROM documents") == [(0,)]


# ---- the log-in rate limit --------------------------------------------------------------------

async def failed_login(client: httpx.AsyncClient, username: str = "ada") -> None:
    response = await client.post("/api/auth/login",
                                 json={"username": username, "password": "not-the-password"})
    assert_error(response, 401, "INVALID_CREDENTIALS")


async def test_failed_logins_lock_the_username_from_this_client(ada, bob, anon, started):
    for _ in range(ATTEMPTS):
        await failed_login(anon)
    for name in ("ada", "ADA"):
        response = await anon.post("/api/auth/login",
                                   json={"username": name, "password": PASSWORD})
        error = assert_error(response, 429, "TOO_MANY_ATTEMPTS")
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= WINDOW and error["details"] == {"retry_after": retry_after}
        assert "set-cookie" not in response.headers
    # another username from the same client, and the same username from elsewhere, still work
    assert (await anon.post("/api/auth/login",
                            json={"username": "bob", "password": PASSWORD})).status_code == 200
    async with client_of(started, "10.1.2.3") as elsewhere:
        await log_in(elsewhere, ada.account)


async def test_unknown_usernames_are_rate_limited_too(anon):
    for _ in range(ATTEMPTS):
        await failed_login(anon, "nobody")
    assert_error(await anon.post("/api/auth/login",
                                 json={"username": "nobody", "password": "x" * 8}),
                 429, "TOO_MANY_ATTEMPTS")


async def test_a_successful_login_clears_the_failures(ada, anon):
    for _ in range(2):
        for _ in range(ATTEMPTS - 1):
            await failed_login(anon)
        await log_in(anon, ada.account)
    await failed_login(anon)  # counted afresh: one failure, no lock
    await log_in(anon, ada.account)


async def test_login_form_is_rate_limited(ada, anon):
    for _ in range(ATTEMPTS):
        response = await anon.post("/login", data={"username": "ada", "password": "nope-nope"})
        assert response.status_code == 401
    response = await anon.post("/login", data={"username": "ada", "password": PASSWORD})
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert "Too many failed log-ins" in response.text and "set-cookie" not in response.headers


# ---- OpenAPI ----------------------------------------------------------------------------------

async def test_openapi_documents_every_api_route_and_its_auth_errors(anon, started):
    spec = (await anon.get("/openapi.json")).json()
    served = {
        (route.path, method.lower())
        for route in started.routes
        if isinstance(route, Route) and route.include_in_schema
        and route.path.startswith("/api/")
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert ("/api/auth/login", "post") in served and (APPLY, "post") in served
    for path, method in served:
        assert method in spec["paths"].get(path, {}), f"{method.upper()} {path} undocumented"
        responses = spec["paths"][path][method]["responses"]
        if not path.startswith(("/api/auth/", "/api/docs")):
            assert {"401", "403"} <= set(responses), (path, method)
    login = spec["paths"]["/api/auth/login"]["post"]["responses"]
    assert {"200", "401", "403", "429"} <= set(login)
    register = spec["paths"]["/api/auth/register"]["post"]["responses"]
    assert {"201", "403", "422"} <= set(register)
    assert "403" in spec["paths"]["/api/auth/logout"]["post"]["responses"]
    assert "401" in spec["paths"]["/api/auth/session"]["get"]["responses"]
    errors = spec["components"]["responses"]
    assert "SESSION_EXPIRED" in errors["Error401"]["description"]
    assert "CSRF_FAILED" in errors["Error403"]["description"]
    assert "Retry-After" in errors["Error429"]["description"]
