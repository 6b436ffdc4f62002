"""Shared fixtures. Browser tests run Debian's Chromium through Playwright, PostgreSQL tests a
throwaway cluster (tests/postgres_cluster.py); if either cannot start, the test fails (never
skips).

PostgreSQL, for any suite that wants to run on it:
    postgres_cluster  (session) the running `PostgresCluster`; `.create_database()` for more
    postgres_url      a database of the session whose tables are emptied before each test
                      (cheap: a TRUNCATE; the schema stays, so `PostgresStore.open` is quick)
    postgres_fresh_url  a new, empty database of its own (about 0.2 s), dropped afterwards
    database_url      parametrized: a SQLite file, then the `postgres_url` database
    app, client       the in-process app on `database_url`, and a signed-up client of it

The account fixtures (`anon`, `ada`, `bob`) need a `started` app fixture from the test module,
which chooses the app's options.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.auth_helpers import client_of, sign_up
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import LiveServer
from tests.postgres_cluster import PostgresCluster

pytest_plugins = ["tests.hypothesis_profiles"]  # so --hypothesis-profile=long works

# Each in-process user connects from an address of its own (TEST-NET-2), so per-address limits
# never mix them up.
ANON_ADDRESS, ADA_ADDRESS, BOB_ADDRESS = "198.51.100.9", "198.51.100.1", "198.51.100.2"


@pytest.fixture
async def anon(started) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no account."""
    async with client_of(started, ANON_ADDRESS) as client:
        yield client


@pytest.fixture
async def ada(started) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed up and logged in as "ada" (its `account` attribute)."""
    async with client_of(started, ADA_ADDRESS) as client:
        client.account = await sign_up(client, "ada")
        yield client


@pytest.fixture
async def bob(started) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed up and logged in as "bob" (its `account` attribute)."""
    async with client_of(started, BOB_ADDRESS) as client:
        client.account = await sign_up(client, "bob")
        yield client

@pytest.fixture(scope="session")
def postgres_cluster():
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def _postgres_shared_url(postgres_cluster):
    return postgres_cluster.create_database("offsync_shared")


@pytest.fixture
def postgres_url(postgres_cluster, _postgres_shared_url):
    postgres_cluster.empty_tables(_postgres_shared_url)
    return _postgres_shared_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each test that takes it runs twice: on a SQLite file, and on PostgreSQL (the session's
    database, emptied): the server behaves the same on both."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path}/offsync.db"


@pytest.fixture
def app(tmp_path, database_url):
    """The in-process app on SQLite, then on PostgreSQL (a module may define its own `app`)."""
    from server import create_app

    return create_app(database_url, max_body_bytes=4096, web_dir=tmp_path / "web")


@pytest.fixture
async def client(app):
    """A signed-up client of `app` (`client.account`)."""
    from tests.auth_helpers import signed_in_client

    async with signed_in_client(app) as signed_in:
        yield signed_in


@pytest.fixture
def postgres_fresh_url(postgres_cluster):
    url = postgres_cluster.create_database()
    yield url
    postgres_cluster.drop_database(url)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop
    running in this thread while it is open, which would break the async tests collected after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("server") / "offsync.db").start()
    yield server
    server.stop()


class PageWatch:
    """Everything a page did that a test may want to assert on afterwards."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []

    def external_requests(self) -> list[str]:
        return [
            url for url in self.requests
            if not url.startswith(("data:", "blob:"))
            and urlparse(url).hostname not in ("127.0.0.1",)
        ]


@pytest.fixture
def context(browser):
    context = browser.new_context()
    watch = PageWatch()
    context.on("request", lambda request: watch.requests.append(request.url))
    context.watch = watch  # type: ignore[attr-defined]
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.on("pageerror", lambda exc: context.watch.errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: context.watch.errors.append(f"console: {msg.text}") if msg.type == "error"
        else None,
    )
    return page


ROOT = Path(__file__).resolve().parent.parent
