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
import secrets
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.revisions import next_revision
from server import create_app
from server.app import DEFAULT_REGISTER_ATTEMPTS
from server.cli import main as cli_main
from tests.auth_helpers import (
    PASSWORD,
    assert_error,
    client_of,
    query,
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
