"""`postgresql://` for `open_store` and `offsync serve`: a database several server processes
share. Registered when `server.stores` first looks up a scheme (`ADAPTER_MODULES`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from models.stores import Store

from ..database import PostgresDatabase
from ..stores import Password, register_database, register_scheme
from . import live  # noqa: F401 (registers the relay between processes)
from .adapter import PostgresStore


def check_postgres_url(url: str) -> None:
    """`postgresql://user[:password]@host[:port]/dbname` (libpq's own options may follow `?`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"database URL {url!r}: {exc}") from None
    if parts.path in ("", "/"):
        raise ValueError(f"database URL {url!r} names no database: use "
                         "postgresql://user:password@host:5432/dbname")


@contextlib.asynccontextmanager
async def open_postgres(url: str, *, must_exist: bool, user: str | None,
                        password: Password) -> AsyncIterator[Store]:
    """The database (its tables are created if missing; the database itself must exist, as
    PostgreSQL's `createdb` makes it). A database holds every user's documents: `user` does
    not apply."""
    import psycopg

    try:
        store = await PostgresStore.open(url)
    except psycopg.OperationalError as exc:  # unreachable, refused, no such database or role
        raise OSError(f"cannot open {url}: {str(exc).strip()}") from None
    try:
        yield store
    finally:
        await store.close()


for _name in ("postgresql", "postgres"):
    register_scheme(_name, open_postgres, check=check_postgres_url, database=True, shared=True,
                    example="postgresql://user:password@host:5432/dbname")
register_database(PostgresStore, lambda store: PostgresDatabase(store.pool))
