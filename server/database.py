"""Short SQL statements on the server's own tables (users, sessions, rate limits), on SQLite or
PostgreSQL alike.

The document store has its own adapter (`models/stores/sqlite.py`, `server/postgres/`); the
server's other state is a few small tables whose statements are the same in both dialects once
placeholders are written `?`. `Database` runs them: on SQLite on the store's own connection (one
file to back up, and `sqlite:///:memory:` works), on PostgreSQL on a pooled connection, so no
statement ever blocks the event loop on the network. Each call is its own transaction.
"""

from __future__ import annotations

import abc
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

Params = tuple[Any, ...]


class DuplicateError(Exception):
    """A row with the same unique key exists (a taken username)."""


class Database(abc.ABC):
    dialect: str  # "sqlite" | "postgresql": for the few statements that differ (schemas)

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed. A unique key already taken
        raises `DuplicateError`."""

    @abc.abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> tuple | None: ...

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple]: ...

    @abc.abstractmethod
    def locked(self, name: str) -> AbstractAsyncContextManager[Database]:
        """A transaction holding a lock on `name`, shared by every process on the database:
        statements on the `Database` it yields run in it, and whoever else locks `name` waits
        until it ends (a check-then-write that concurrent requests must not interleave)."""

    async def script(self, statements: str) -> None:
        """Several statements separated by `;` (schemas), in one transaction under one lock:
        server processes starting at once on a new database would otherwise race, and
        PostgreSQL fails one of two concurrent CREATE TABLE IF NOT EXISTS of the same table."""
        async with self.locked("schema") as db:
            for statement in statements.split(";"):
                if statement.strip():
                    await db.execute(statement)


class SQLiteDatabase(Database):
    """On a connection in autocommit mode (`isolation_level=None`), shared with the store: every
    statement is short and never interleaves with a store transaction (none awaits inside)."""

    dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            return self.connection.execute(sql, params).rowcount
        except sqlite3.IntegrityError as exc:
            raise DuplicateError(str(exc)) from None

    async def fetchone(self, sql: str, params: Params = ()) -> tuple | None:
        row = self.connection.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple]:
        return [tuple(row) for row in self.connection.execute(sql, params).fetchall()]

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Database]:
        yield self  # one process, and no statement here awaits: nothing can come in between


class PostgresDatabase(Database):
    """On a `psycopg_pool.AsyncConnectionPool` (the document store's pool)."""

    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")  # our statements hold no literal `?`

    async def _run(self, sql: str, params: Params, fetch: str | None) -> Any:
        async with self.pool.connection() as connection:
            return await run_statement(connection, self._sql(sql), params, fetch)

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._run(sql, params, None)

    async def fetchone(self, sql: str, params: Params = ()) -> tuple | None:
        return await self._run(sql, params, "one")

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple]:
        return await self._run(sql, params, "all")

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Database]:
        async with self.pool.connection() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
            yield _OnConnection(connection)


class _OnConnection(PostgresDatabase):
    """The statements of one `locked` transaction, on its connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def _run(self, sql: str, params: Params, fetch: str | None) -> Any:
        return await run_statement(self.connection, self._sql(sql), params, fetch)

    @contextlib.asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[Database]:
        await self.connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
        yield self


async def run_statement(connection: Any, sql: str, params: Params, fetch: str | None) -> Any:
    import psycopg
    from psycopg.rows import tuple_row

    try:
        async with connection.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute(sql, params)
            if fetch == "one":
                return await cursor.fetchone()
            if fetch == "all":
                return await cursor.fetchall()
            return cursor.rowcount
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateError(str(exc)) from None
