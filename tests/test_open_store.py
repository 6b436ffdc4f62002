"""`server.stores.open_store(url)`: the store a URL names, through the registry of schemes.

A SQLite file (created, or refused when it must exist), a live offsync server signed in as a
user, a scheme an adapter module registers on first use, and a clear error for every URL that
names nothing."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import httpx
import pytest

from models import AuthenticationError, RemoteStore, Todo
from models.stores.sqlite import SQLiteStore
from server import stores
from server.stores import open_store, register_scheme, scheme_of

from .auth_helpers import PASSWORD, sign_up_sync


async def test_a_sqlite_url_opens_the_file_and_closes_it_on_leaving(tmp_path: Path):
    db = tmp_path / "a.db"
    async with open_store(f"sqlite:///{db}") as store:
        assert isinstance(store, SQLiteStore)
        await Todo.using(store).create(title="kept")
        assert await store.checkpoint() == 1
    assert db.is_file()
    with pytest.raises(sqlite3.ProgrammingError):
        store.db.execute("SELECT 1")  # closed
    async with open_store(f"sqlite:///{db}", must_exist=True) as again:
        assert [t.title for t in await Todo.using(again).find()] == ["kept"]


async def test_must_exist_refuses_a_missing_file_and_creates_nothing(tmp_path: Path):
    missing = tmp_path / "nope.db"
    with pytest.raises(FileNotFoundError, match="there is no database file"):
        async with open_store(f"sqlite:///{missing}", must_exist=True):
            raise AssertionError("a missing file was opened")
    assert not missing.exists()


@pytest.mark.parametrize(("url", "says"), [
    ("mysql://localhost/x", "scheme 'mysql'"),
    ("ftp://host/a.db", "scheme 'ftp'"),
    ("data/offsync.db", "no scheme"),
    ("", "no scheme"),
])
async def test_an_unknown_scheme_lists_the_urls_that_work(url: str, says: str):
    with pytest.raises(ValueError) as info:
        async with open_store(url):
            raise AssertionError(f"{url!r} opened")
    message = str(info.value)
    assert says in message and "sqlite:///" in message and "http(s)://host:port" in message


@pytest.mark.parametrize(("url", "says"), [
    ("sqlite:///", "names no file"),
    ("sqlite:///data/", "names no file"),
    ("sqlite:///a.db?mode=ro", "query strings"),
    ("sqlite://a.db", "use sqlite:///path/to/file.db"),
    ("http://", "names no host"),
    ("https://:8000", "names no host"),
    ("http://host:port", "server URL"),
    ("http://host:8000/api", "without a path"),
    ("http://host:8000/?x=1", "without a path"),
    ("http://ada:secret@host:8000", "not in the URL"),
])
def test_a_bad_url_says_what_is_wrong(url: str, says: str):
    with pytest.raises(ValueError, match=says.replace("?", r"\?").replace(".", r"\.")):
        scheme_of(url)


def test_a_database_is_asked_for_a_server_url_is_refused():
    assert scheme_of("http://127.0.0.1:8000").name == "http"
    with pytest.raises(ValueError) as info:
        scheme_of("http://127.0.0.1:8000", database=True)
    assert "unsupported database URL" in str(info.value)
    assert "http(s)" not in str(info.value), "a server is not offered where a database is asked"
    assert scheme_of("sqlite:///a.db", database=True).name == "sqlite"


def test_a_scheme_is_registered_once():
    with pytest.raises(ValueError, match="registered already"):
        register_scheme("sqlite", stores.open_sqlite, check=stores.parse_database_url,
                        database=True, example="sqlite:///a.db")
    for bad in ("Mem", "mem ory", "", "mém"):
        with pytest.raises(ValueError, match="is not a URL scheme"):
            register_scheme(bad, stores.open_sqlite, check=str, database=True, example="x")


async def test_an_adapter_module_registers_its_scheme_on_the_first_look_up(monkeypatch):
    """How a driver that is not always installed (PostgreSQL's) joins: its module is named in
    ADAPTER_MODULES and imported only when a URL is looked up."""
    name = "tests.open_store_adapter"
    monkeypatch.setattr(stores, "SCHEMES", dict(stores.SCHEMES))
    monkeypatch.setattr(stores, "_loaded", set())
    monkeypatch.setattr(stores, "ADAPTER_MODULES", (name,))
    monkeypatch.delitem(sys.modules, name, raising=False)
    assert "memory" not in stores.SCHEMES
    async with open_store("memory://", must_exist=True, user="ada") as store:
        await Todo.using(store).create(title="in memory")
        assert await store.checkpoint() == 1
    adapter = sys.modules[name]
    assert adapter.opened == [{"url": "memory://", "must_exist": True, "user": "ada"}]
    with pytest.raises(ValueError, match="use memory://"):
        scheme_of("memory://named")
    with pytest.raises(ValueError) as info:
        scheme_of("nope://")
    assert "memory://" in str(info.value), "a registered scheme is offered in the error"


async def test_a_server_url_signs_in_and_asks_for_the_password_only_then(live_server):
    with httpx.Client(base_url=live_server.url) as client:
        account = sign_up_sync(client)
    asked: list[str] = []

    def password() -> str:
        asked.append("asked")
        return PASSWORD

    async with open_store(live_server.url, user=account.username, password=password) as store:
        assert isinstance(store, RemoteStore)
        await Todo.using(store).create(title="through the server")
        assert await store.pending("todos") >= 1
    assert asked == ["asked"]

    with pytest.raises(AuthenticationError, match="needs an account"):
        async with open_store(live_server.url, password=password):
            raise AssertionError("opened without a user")
    assert asked == ["asked"], "no user, no password asked for"
    with pytest.raises(AuthenticationError, match="failed"):
        async with open_store(live_server.url, user=account.username, password="wrong" * 3):
            raise AssertionError("opened with a wrong password")
    with pytest.raises(AuthenticationError, match="needs a password"):
        async with open_store(live_server.url, user=account.username):
            raise AssertionError("opened without a password")


async def test_an_unreachable_server_is_an_os_error():
    with pytest.raises(OSError, match="cannot reach http://127.0.0.1:9"):
        async with open_store("http://127.0.0.1:9", user="ada", password=PASSWORD):
            raise AssertionError("port 9 answered")
