"""A store in PostgreSQL, for several server processes on one database.

`PostgresAdapter` implements `models.stores.adapter` with psycopg 3's async driver and a
connection pool, so the server's event loop never waits on a database round trip. Reads are
single statements on any pooled connection (autocommit, READ COMMITTED: they see what is
committed). `transaction()` takes a connection and yields a `PostgresTransaction` bound to it,
whose first statement locks the `seq` counter row: write transactions run one at a time, as
SQLite's BEGIN IMMEDIATE does, so sequence numbers are handed out in commit order and two
writes of one document cannot both read its old revision (docs/PROTOCOL.md, "Checkpoints with
concurrent writers"). Queries become SQL over jsonb in `query.py`, the tables are `schema.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import replace

from psycopg import AsyncConnection, IsolationLevel, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from models.changes import ChangeType
from models.document import Document
from models.filters import Query
from models.stores.adapter import Adapter, Owners, Transaction
from models.stores.local import LocalStore

from .query import json_text, order_clause, where_clause
from .schema import NAMES, create_schema

COLUMNS = ", ".join(NAMES)
PLACES = ", ".join(["%s"] * len(NAMES))
UPDATES = ", ".join(f"{name} = excluded.{name}" for name in NAMES[2:])
# The statements the feeds run (tests/test_store_postgres_plans.py checks their plans).
FEED = ("SELECT * FROM documents WHERE model = %s AND checkpoint > %s"
        " ORDER BY checkpoint LIMIT %s")
FEED_BY_OWNER = ("SELECT * FROM documents WHERE model = %s AND owner = %s AND checkpoint > %s"
                 " ORDER BY checkpoint LIMIT %s")
FEED_BY_OWNERS = ("SELECT * FROM documents WHERE model = %s AND owner = ANY(%s)"
                  " AND checkpoint > %s ORDER BY checkpoint LIMIT %s")
COUNT_CHANGED_BY_OWNERS = ("SELECT count(*) AS n FROM documents WHERE model = %s"
                           " AND owner = ANY(%s) AND checkpoint > %s")
COUNT_CHANGED = "SELECT count(*) AS n FROM documents WHERE model = %s AND checkpoint > %s"
COUNT_CHANGED_BY_OWNER = ("SELECT count(*) AS n FROM documents WHERE model = %s AND owner = %s"
                          " AND checkpoint > %s")
LOCK_SEQ = "SELECT value FROM meta WHERE key = 'seq' FOR UPDATE"


def _jsonb(value: object) -> Jsonb | None:
    return None if value is None else Jsonb(value, dumps=json_text)


def _row(row: dict) -> Document:
    data, base_rev = row["data"], row["base_rev"]
    return Document(
        model=row["model"], id=row["id"], rev=row["rev"], checkpoint=row["checkpoint"],
        deleted=row["deleted"], data=data, type=ChangeType(row["type"]),
        history=tuple(row["history"]), base_rev=base_rev,
        base_data=data if base_rev is not None and base_rev == row["rev"] else row["base_data"],
        owner=row["owner"],
        unacked=tuple((rev, body) for rev, body in row["unacked"] or ()),
    )


def _values(doc: Document) -> tuple:
    return (doc.model, doc.id, doc.rev, doc.checkpoint, doc.deleted, doc.type.value,
            _jsonb(doc.data), _jsonb(list(doc.history)), doc.base_rev,
            None if doc.base_rev == doc.rev else _jsonb(doc.base_data), doc.owner,
            _jsonb([list(item) for item in doc.unacked]) if doc.unacked else None)


async def _one(conn: AsyncConnection, table: str, model: str, id: str) -> Document | None:
    cursor = await conn.execute(
        sql.SQL("SELECT * FROM {} WHERE model = %s AND id = %s").format(sql.Identifier(table)),
        (model, id))
    row = await cursor.fetchone()
    return None if row is None else _row(row)


async def _mark(conn: AsyncConnection, name: str) -> int | None:
    cursor = await conn.execute("SELECT value FROM meta WHERE key = %s", (f"mark:{name}",))
    row = await cursor.fetchone()
    return None if row is None else row["value"]


class PostgresTransaction(Transaction):
    """One write transaction on one pooled connection, holding the `seq` row lock throughout.

    The counter is read once under the lock and written back once before commit (not one
    UPDATE per change): nobody else can read or move it meanwhile."""

    def __init__(self, conn: AsyncConnection, seq: int) -> None:
        self.conn = conn
        self.first_seq = self.seq = seq

    async def read_doc(self, model: str, id: str) -> Document | None:
        return await _one(self.conn, "documents", model, id)

    async def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        if new_checkpoint:
            self.seq += 1
            doc = replace(doc, checkpoint=self.seq)
        await self.conn.execute(
            f"INSERT INTO documents ({COLUMNS}) VALUES ({PLACES})"
            f" ON CONFLICT (model, id) DO UPDATE SET {UPDATES}", _values(doc))
        return doc

    async def read_conflict(self, model: str, id: str) -> Document | None:
        return await _one(self.conn, "conflicts", model, id)

    async def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        if doc is None:
            await self.conn.execute("DELETE FROM conflicts WHERE model = %s AND id = %s",
                                    (model, id))
        else:
            await self.conn.execute(
                f"INSERT INTO conflicts ({COLUMNS}) VALUES ({PLACES})"
                f" ON CONFLICT (model, id) DO UPDATE SET {UPDATES}", _values(doc))

    async def read_mark(self, name: str) -> int | None:
        return await _mark(self.conn, name)

    async def put_mark(self, name: str, value: int) -> None:
        await self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (f"mark:{name}", value))

    async def forget_doc(self, model: str, id: str) -> None:
        await self.conn.execute("DELETE FROM documents WHERE model = %s AND id = %s", (model, id))

    async def drop_tombstones(self, model: str, through: int) -> int:
        cursor = await self.conn.execute(
            "DELETE FROM documents WHERE model = %s AND deleted AND checkpoint <= %s",
            (model, through))
        return cursor.rowcount

    async def finish(self) -> None:
        """Write the counter back (still under the lock, just before commit)."""
        if self.seq != self.first_seq:
            await self.conn.execute("UPDATE meta SET value = %s WHERE key = 'seq'", (self.seq,))


class PostgresAdapter(Adapter):
    """A connection pool; each transaction takes one connection for its whole length."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._current: ContextVar[PostgresTransaction | None] = ContextVar(
            "postgres_transaction", default=None)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        joined = self._current.get()
        if joined is not None:  # nested in the same task: the outer transaction commits
            yield joined
            return
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(LOCK_SEQ)).fetchone()
            tx = PostgresTransaction(conn, row["value"])
            token = self._current.set(tx)
            try:
                yield tx
                await tx.finish()
            finally:
                self._current.reset(token)

    # ---- reads (committed state) ---------------------------------------------------------------
    async def _fetch(self, query: sql.Composable | str, params: tuple | list) -> list[dict]:
        async with self.pool.connection() as conn:
            return await (await conn.execute(query, params)).fetchall()

    async def read_doc(self, model: str, id: str) -> Document | None:
        async with self.pool.connection() as conn:
            return await _one(conn, "documents", model, id)

    async def query_docs(self, model: str, query: Query) -> list[Document]:
        where, params = where_clause(query.where)
        statement = sql.SQL(
            "SELECT * FROM documents WHERE model = %s AND NOT deleted AND ({}) ORDER BY {}"
            " LIMIT %s OFFSET %s").format(where, order_clause(query.order))
        rows = await self._fetch(statement, [model, *params, query.limit, query.skip])
        return [_row(row) for row in rows]

    async def count_docs(self, model: str, query: Query) -> int:
        where, params = where_clause(query.where)
        statement = sql.SQL(
            "SELECT count(*) AS n FROM documents WHERE model = %s AND NOT deleted AND ({})"
        ).format(where)
        return (await self._fetch(statement, [model, *params]))[0]["n"]

    async def feed_docs(
        self, model: str, since: int, limit: int, owner: Owners = None
    ) -> list[Document]:
        if owner is None:
            rows = await self._fetch(FEED, (model, since, limit))
        elif isinstance(owner, str):
            rows = await self._fetch(FEED_BY_OWNER, (model, owner, since, limit))
        else:
            rows = await self._fetch(FEED_BY_OWNERS, (model, list(owner), since, limit))
        return [_row(row) for row in rows]

    async def count_changed(self, model: str, since: int, owner: Owners = None) -> int:
        if owner is None:
            rows = await self._fetch(COUNT_CHANGED, (model, since))
        elif isinstance(owner, str):
            rows = await self._fetch(COUNT_CHANGED_BY_OWNER, (model, owner, since))
        else:
            rows = await self._fetch(COUNT_CHANGED_BY_OWNERS, (model, list(owner), since))
        return rows[0]["n"]

    async def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        async with self.pool.connection() as conn:
            theirs = [_row(row) for row in await (await conn.execute(
                "SELECT * FROM conflicts WHERE model = %s ORDER BY id", (model,))).fetchall()]
            ours = {row["id"]: _row(row) for row in await (await conn.execute(
                "SELECT * FROM documents WHERE model = %s AND id = ANY(%s)",
                (model, [doc.id for doc in theirs]))).fetchall()}
        return [(ours.get(doc.id), doc) for doc in theirs]

    async def last_checkpoint(self) -> int:
        return (await self._fetch("SELECT value FROM meta WHERE key = 'seq'", ()))[0]["value"]

    async def read_mark(self, name: str) -> int | None:
        async with self.pool.connection() as conn:
            return await _mark(conn, name)

    async def create_mark(self, name: str, value: int) -> int:
        """One statement, atomic among every process (no write transaction, no counter lock)."""
        async with self.pool.connection() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s)"
                               " ON CONFLICT (key) DO NOTHING", (f"mark:{name}", value))
            found = await _mark(conn, name)
        assert found is not None
        return found


async def _configure(conn: AsyncConnection) -> None:
    # The lock-then-read design needs each statement to see what committed before it started.
    await conn.set_isolation_level(IsolationLevel.READ_COMMITTED)


class PostgresStore(LocalStore):
    """`LocalStore` over `PostgresAdapter`. `pool` is its connection pool (the server keeps its
    users and sessions in the same database)."""

    adapter: PostgresAdapter

    def __init__(self, pool: AsyncConnectionPool, url: str) -> None:
        super().__init__(PostgresAdapter(pool))
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresStore:
        """Connect (a wrong URL fails here, with PostgreSQL's own message), create the schema if
        missing, and open the pool."""
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            encoding = (await (await conn.execute("SHOW server_encoding")).fetchone())[0]
            if encoding.upper() not in ("UTF8", "UTF-8"):
                raise RuntimeError(f"the database's encoding is {encoding}; offsync needs UTF8 "
                                   "(CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)")
            await create_schema(conn)
        pool = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, configure=_configure,
            kwargs={"autocommit": True, "row_factory": dict_row})
        await pool.open(wait=True)
        return cls(pool, url)

    async def close(self) -> None:
        await self.pool.close()
