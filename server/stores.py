"""`open_store(url)`: the store a URL names, and the registry of URL schemes that says how.

`sqlite:///data/offsync.db` opens a database file, `http(s)://host:port` an offsync server
(signed in as a user: a server replicates only that user's documents). A new adapter registers
its scheme with `register_scheme`; a module whose driver is optional (PostgreSQL's, say) is
named in `ADAPTER_MODULES`, imported on the first look-up, and imports its driver only when a
store is opened, so a missing driver fails with the scheme, not at start.

`database_of(store)` is the `server.database.Database` of a database's store: the server's
own tables (accounts, sessions, rate limits) beside the documents, which moving a whole
deployment copies too. An adapter registers how with `register_database`.

It lives in `server/`, not `models/`: `models/` imports only the standard library so that it
loads in Pyodide, and opening a URL needs what only a server machine has (httpx to reach a
server; a database driver; files on disk). The browser builds its two stores itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from models.errors import AuthenticationError
from models.stores import Store
from models.stores.sqlite import SQLiteStore

from .database import Database, SQLiteDatabase

Password = str | Callable[[], str] | None  # a callable is asked only when a log-in needs it


class Opener(Protocol):
    def __call__(self, url: str, *, must_exist: bool, user: str | None,
                 password: Password) -> AbstractAsyncContextManager[Store]: ...


@dataclass(frozen=True)
class Scheme:
    """How to open the stores of one URL scheme."""

    name: str
    open: Opener
    check: Callable[[str], object]  # raises ValueError, saying what is wrong, for a bad URL
    database: bool  # a database a server can run on (`serve`), not an offsync server
    example: str  # shown in the error for a URL no scheme takes
    shared: bool = False  # several server processes may run on one such database (`--workers`)


SCHEMES: dict[str, Scheme] = {}
ADAPTER_MODULES: tuple[str, ...] = ("server.postgres.scheme",)  # register schemes on import
_loaded: set[str] = set()


def register_scheme(name: str, opener: Opener, *, check: Callable[[str], object],
                    database: bool, example: str, shared: bool = False) -> None:
    """Let `open_store` open URLs of scheme `name` (lower case, as `urlsplit` gives it)."""
    if name != name.lower() or not name.isascii() or not name.replace("+", "").isalnum():
        raise ValueError(f"{name!r} is not a URL scheme")
    if name in SCHEMES:
        raise ValueError(f"the URL scheme {name!r} is registered already")
    SCHEMES[name] = Scheme(name, opener, check, database, example, shared)


def _schemes() -> dict[str, Scheme]:
    for module in ADAPTER_MODULES:
        if module not in _loaded:
            importlib.import_module(module)
            _loaded.add(module)
    return SCHEMES


def scheme_of(url: str, *, database: bool = False) -> Scheme:
    """The scheme that opens `url`, once its check passed (with `database`, only a scheme of a
    database); ValueError, listing the URLs that work, for any other."""
    known = [s for s in _schemes().values() if s.database or not database]
    name = url.split(":", 1)[0].lower() if ":" in url else None
    scheme = next((s for s in known if s.name == name), None)
    if scheme is None:
        kind = "database URL" if database else "URL"
        shown = f"scheme {name!r}" if name else "no scheme"
        examples = dict.fromkeys(s.example for s in known)
        raise ValueError(f"unsupported {kind} {url!r} ({shown}): use " + "; ".join(examples))
    scheme.check(url)
    return scheme


DATABASES: dict[type, Callable[[Store], Database]] = {}  # store class -> its Database


def register_database(store_class: type, database: Callable[[Store], Database]) -> None:
    """Let `database_of` find the `Database` of the stores of `store_class` (and subclasses):
    PostgreSQL's adapter registers `lambda store: PostgresDatabase(store.pool)`."""
    if store_class in DATABASES:
        raise ValueError(f"{store_class.__name__} has its database registered already")
    DATABASES[store_class] = database


def database_of(store: Store) -> Database:
    """The `Database` a database's store keeps the server's tables in (its accounts, sessions
    and rate limits); ValueError for a store that is no database (a server, memory)."""
    _schemes()  # the adapter modules register theirs when imported
    for cls in type(store).__mro__:
        if cls in DATABASES:
            return DATABASES[cls](store)
    raise ValueError(f"a {type(store).__name__} is not a database: it has no accounts to move")


@contextlib.asynccontextmanager
async def open_store(url: str, *, must_exist: bool = False, user: str | None = None,
                     password: Password = None) -> AsyncIterator[Store]:
    """The store `url` names, closed on leaving. `must_exist`: refuse to create a database (a
    source must already hold data). `user` and `password` sign in to an offsync server."""
    scheme = scheme_of(url)
    async with scheme.open(url, must_exist=must_exist, user=user, password=password) as store:
        yield store


# ---- sqlite:/// --------------------------------------------------------------------------------

def parse_database_url(url: str) -> str:
    """The SQLite path in `url`: `sqlite:///relative.db`, `sqlite:////absolute.db` or
    `sqlite:///:memory:`."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise ValueError(
            f"unsupported database URL {url!r} (scheme {scheme!r}): use sqlite:///path/to/file.db "
            "(relative), sqlite:////absolute/path.db or sqlite:///:memory:"
        )
    path = url[len(prefix):]
    if not path or path.endswith("/"):
        raise ValueError(f"database URL {url!r} names no file: use sqlite:///data/offsync.db")
    if "?" in path or "#" in path:
        raise ValueError(f"database URL {url!r}: query strings and fragments are not supported")
    return path


@contextlib.asynccontextmanager
async def open_sqlite(url: str, *, must_exist: bool, user: str | None,
                      password: Password) -> AsyncIterator[Store]:
    """A SQLite file (created unless `must_exist`). A database holds every user's documents:
    `user` does not apply."""
    path = parse_database_url(url)
    if must_exist and path != ":memory:" and not os.path.isfile(path):
        raise FileNotFoundError(f"{url}: there is no database file {path!r}")
    store = SQLiteStore(path)
    try:
        yield store
    finally:
        store.close()


# ---- http(s):// --------------------------------------------------------------------------------

def check_server_url(url: str) -> None:
    """An offsync server's address: `http(s)://host[:port][/]`, nothing after it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"server URL {url!r}: {exc}") from None
    if not parts.hostname:
        raise ValueError(f"server URL {url!r} names no host: use http://host:port")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"server URL {url!r}: give the server's address only "
                         "(http://host:port), without a path, query or fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"server URL {url!r}: give the account with the user name, "
                         "not in the URL")


async def log_in(client, url: str, user: str | None, password: Password) -> dict[str, str]:
    """Log `client` in as `user`; the headers every later request needs (the CSRF token)."""
    if user is None:
        raise AuthenticationError(f"{url} needs an account: give the user to sign in as")
    secret = password() if callable(password) else password
    if secret is None:
        raise AuthenticationError(f"{url}: signing in as {user} needs a password")
    response = await client.post("/api/auth/login", json={"username": user, "password": secret})
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}"
        raise AuthenticationError(f"logging in to {url} as {user} failed: {message}")
    return {"X-CSRF-Token": response.json()["csrf"]}


@contextlib.asynccontextmanager
async def open_server(url: str, *, must_exist: bool, user: str | None,
                      password: Password) -> AsyncIterator[Store]:
    """An offsync server as a `RemoteStore`, signed in as `user` (a server always exists)."""
    import httpx

    from models.stores.remote import RemoteStore

    from .transport import HttpxTransport

    check_server_url(url)
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=60.0) as client:
        try:
            headers = await log_in(client, url, user, password)
        except httpx.HTTPError as exc:
            raise OSError(f"cannot reach {url}: {exc}") from None
        yield RemoteStore(HttpxTransport(client, headers))


def sqlite_database(store: Store) -> Database:
    """The server's tables share the documents' connection (one file to back up)."""
    assert isinstance(store, SQLiteStore)
    return SQLiteDatabase(store.db)


register_database(SQLiteStore, sqlite_database)
register_scheme("sqlite", open_sqlite, check=parse_database_url, database=True,
                example="sqlite:///path/to/file.db (relative), sqlite:////absolute/path.db or "
                        "sqlite:///:memory:")
for _name in ("http", "https"):
    register_scheme(_name, open_server, check=check_server_url, database=False,
                    example="http(s)://host:port (an offsync server)")

__all__ = ["ADAPTER_MODULES", "DATABASES", "SCHEMES", "Opener", "Password", "Scheme",
           "database_of", "open_store", "parse_database_url", "register_database",
           "register_scheme", "scheme_of"]
