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
import sqlite3
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

    async def script(self, statements: str) -> None:
        """Several statements separated by `;` (schemas), each run on its own."""
        for statement in statements.split(";"):
            if statement.strip():
                await self.execute(statement)


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


class PostgresDatabase(Database):
    """On a `psycopg_pool.AsyncConnectionPool` (the document store's pool)."""

    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")  # our statements hold no literal `?`

    async def execute(self, sql: str, params: Params = ()) -> int:
        import psycopg

        try:
            async with self.pool.connection() as connection:
                cursor = await connection.execute(self._sql(sql), params)
                return cursor.rowcount
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateError(str(exc)) from None

    async def fetchone(self, sql: str, params: Params = ()) -> tuple | None:
        async with self.pool.connection() as connection:
            cursor = await connection.execute(self._sql(sql), params)
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple]:
        async with self.pool.connection() as connection:
            cursor = await connection.execute(self._sql(sql), params)
            return await cursor.fetchall()
