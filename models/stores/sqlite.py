"""A store in a SQLite database file: the server's embedded default.

`documents` holds each document's current state, and its `checkpoint` is the sequence number of
its last change: pulling changes since a checkpoint walks the `(model, checkpoint)` index (or
`(model, owner, checkpoint)` for one user's feed), so it costs what changed, not what is stored.
`conflicts` has the same columns (one encoding for both). `meta` keeps the sequence number
(`seq`) and `LocalStore`'s marks (`mark:<name>`), the database's identity among them
(`mark:database`, made when the file is first opened, so a copy of the file keeps it). A
transaction is `BEGIN IMMEDIATE`: one writer at a time, so checkpoints are handed out in commit
order. Queries become SQL over `json_extract` (`sqlite_query.py`).

The statements are short and run on the caller's thread: SQLite is a local file, and the server
runs one process on it (PostgreSQL is the adapter for more).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace

from ..changes import ChangeType
from ..document import Document
from ..filters import Query
from .adapter import Adapter, Owners, Transaction, owner_tuple
from .codec import decode
from .local import IDENTITY_MARK, LocalStore, new_identity
from .sqlite_query import json_path, where_clause

COLUMNS = """
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    rev TEXT NOT NULL,
    checkpoint INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    data TEXT,
    history TEXT NOT NULL DEFAULT '[]',
    base_rev TEXT,
    base_data TEXT,
    owner TEXT,
    unacked TEXT,
    PRIMARY KEY (model, id)
"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS documents ({COLUMNS}) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS documents_by_checkpoint ON documents (model, checkpoint);
CREATE INDEX IF NOT EXISTS documents_by_owner ON documents (model, owner, checkpoint);
CREATE TABLE IF NOT EXISTS conflicts ({COLUMNS}) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('seq', 0);
"""
NAMES = ("model, id, rev, checkpoint, deleted, type, data, history, base_rev, base_data, owner,"
         " unacked")
PLACES = ", ".join("?" * 12)


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _by_owner(owner: Owners) -> tuple[str, tuple[str, ...]]:
    """The SQL limiting a feed to `owner` (any of them: `owner IN (...)`, on the owner index)
    and its parameters."""
    owners = owner_tuple(owner)
    if owners is None:
        return "", ()
    return f"AND owner IN ({', '.join('?' * len(owners))}) ", owners


def _row(row: sqlite3.Row) -> Document:
    data = None if row["data"] is None else json.loads(row["data"])
    base_rev = row["base_rev"]
    return Document(
        model=row["model"], id=row["id"], rev=row["rev"], checkpoint=row["checkpoint"],
        deleted=bool(row["deleted"]), data=data, type=ChangeType(row["type"]),
        history=tuple(json.loads(row["history"])), base_rev=base_rev,
        base_data=data if base_rev is not None and base_rev == row["rev"]
        else (None if row["base_data"] is None else json.loads(row["base_data"])),
        owner=row["owner"],
        unacked=tuple((rev, body) for rev, body in json.loads(row["unacked"] or "[]")),
    )


def _values(doc: Document) -> tuple:
    return (doc.model, doc.id, doc.rev, doc.checkpoint, int(doc.deleted), doc.type.value,
            _json(doc.data), json.dumps(list(doc.history)), doc.base_rev,
            None if doc.base_rev == doc.rev else _json(doc.base_data), doc.owner,
            _json([list(item) for item in doc.unacked]) if doc.unacked else None)


class SQLiteAdapter(Adapter, Transaction):
    """One connection; it is its own transaction (SQLite has one writer at a time anyway)."""

    def __init__(self, path: str = ":memory:") -> None:
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        with self._immediate():
            upgrade_schema(self.db)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            # the database's identity, made when it is first opened (`LocalStore.identity`)
            self.db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                            (f"mark:{IDENTITY_MARK}", new_identity()))
        self._depth = 0

    @contextlib.contextmanager
    def _immediate(self):  # type: ignore[no-untyped-def]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def _one(self, table: str, model: str, id: str) -> Document | None:
        row = self.db.execute(
            f"SELECT * FROM {table} WHERE model = ? AND id = ?", (model, id)).fetchone()
        return None if row is None else _row(row)

    # ---- reads ---------------------------------------------------------------------------------
    async def read_doc(self, model: str, id: str) -> Document | None:
        return self._one("documents", model, id)

    async def read_conflict(self, model: str, id: str) -> Document | None:
        return self._one("conflicts", model, id)

    async def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        rows = self.db.execute(
            "SELECT * FROM conflicts WHERE model = ? ORDER BY id", (model,)).fetchall()
        return [(self._one("documents", model, row["id"]), _row(row)) for row in rows]

    async def query_docs(self, model: str, query: Query) -> list[Document]:
        where_sql, params = where_clause(query.where)
        order = "".join(
            f"{json_path(name)} {'DESC' if desc else 'ASC'}, " for name, desc in query.order
        )
        sql = (
            f"SELECT * FROM documents WHERE model = ? AND deleted = 0 AND ({where_sql}) "
            f"ORDER BY {order}id LIMIT ? OFFSET ?"
        )
        limit = -1 if query.limit is None else query.limit
        rows = self.db.execute(sql, (model, *params, limit, query.skip)).fetchall()
        return [_row(row) for row in rows]

    async def count_docs(self, model: str, query: Query) -> int:
        where_sql, params = where_clause(query.where)
        sql = f"SELECT COUNT(*) FROM documents WHERE model = ? AND deleted = 0 AND ({where_sql})"
        return self.db.execute(sql, (model, *params)).fetchone()[0]

    async def feed_docs(
        self, model: str, since: int, limit: int, owner: Owners = None
    ) -> list[Document]:
        by_owner, owners = _by_owner(owner)
        rows = self.db.execute(
            f"SELECT * FROM documents WHERE model = ? {by_owner}AND checkpoint > ? "
            "ORDER BY checkpoint LIMIT ?",
            (model, *owners, since, limit),
        ).fetchall()
        return [_row(row) for row in rows]

    async def count_changed(self, model: str, since: int, owner: Owners = None) -> int:
        by_owner, owners = _by_owner(owner)
        return self.db.execute(
            f"SELECT COUNT(*) FROM documents WHERE model = ? {by_owner}AND checkpoint > ?",
            (model, *owners, since),
        ).fetchone()[0]

    async def last_checkpoint(self) -> int:
        return self.db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()[0]

    async def read_mark(self, name: str) -> int | None:
        found = self.db.execute(
            "SELECT value FROM meta WHERE key = ?", (f"mark:{name}",)).fetchone()
        return found[0] if found else None

    # ---- writes ------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQLiteAdapter]:
        if self._depth:  # nested: the outer transaction commits
            yield self
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    async def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        if new_checkpoint:
            (checkpoint,) = self.db.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value").fetchone()
            doc = replace(doc, checkpoint=checkpoint)
        self.db.execute(
            f"INSERT OR REPLACE INTO documents ({NAMES}) VALUES ({PLACES})",
            _values(doc))
        return doc

    async def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        if doc is None:
            self.db.execute("DELETE FROM conflicts WHERE model = ? AND id = ?", (model, id))
        else:
            self.db.execute(
                f"INSERT OR REPLACE INTO conflicts ({NAMES}) VALUES ({PLACES})", _values(doc))

    async def put_mark(self, name: str, value: int) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value", (f"mark:{name}", value),
        )

    async def forget_doc(self, model: str, id: str) -> None:
        self.db.execute("DELETE FROM documents WHERE model = ? AND id = ?", (model, id))

    async def drop_tombstones(self, model: str, through: int) -> int:
        return self.db.execute(
            "DELETE FROM documents WHERE model = ? AND deleted = 1 AND checkpoint <= ?",
            (model, through),
        ).rowcount


def upgrade_schema(db: sqlite3.Connection) -> None:
    """Bring a database written by an earlier version to this schema, keeping everything:
    the `changes` log (written, never read) gives way to the `seq` counter; conflicts kept as
    one JSON text become rows; `horizon:<model>` becomes the mark `horizon:<model>`;
    documents gain `unacked`."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "documents" in tables:
        columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
        if "unacked" not in columns:
            db.execute("ALTER TABLE documents ADD COLUMN unacked TEXT")
    if "documents" in tables and not ("meta" in tables and db.execute(
            "SELECT 1 FROM meta WHERE key = 'seq'").fetchone()):
        logged = 0
        if "changes" in tables:
            found = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
            logged = found[0] if found else 0
        top = db.execute("SELECT MAX(checkpoint) FROM documents").fetchone()[0] or 0
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY,"
                   " value INTEGER NOT NULL) WITHOUT ROWID")
        db.execute("INSERT INTO meta (key, value) VALUES ('seq', ?)", (max(logged, top),))
    if "changes" in tables:
        db.execute("DROP TABLE changes")
    if "meta" in tables:
        db.execute("UPDATE meta SET key = 'mark:' || key WHERE key LIKE 'horizon:%'")
    if "conflicts" in tables:
        columns = {row[1] for row in db.execute("PRAGMA table_info(conflicts)")}
        if "doc" in columns:
            old = db.execute("SELECT model, id, doc FROM conflicts").fetchall()
            db.execute("DROP TABLE conflicts")
            db.execute(f"CREATE TABLE conflicts ({COLUMNS}) WITHOUT ROWID")
            for model, id, raw in old:
                db.execute(f"INSERT INTO conflicts ({NAMES}) VALUES ({PLACES})",
                           _values(decode(model, id, raw)))


class SQLiteStore(LocalStore):
    """`LocalStore` over `SQLiteAdapter`; `db` is its connection (the server keeps its users
    and sessions in the same file)."""

    adapter: SQLiteAdapter

    def __init__(self, path: str = ":memory:") -> None:
        super().__init__(SQLiteAdapter(path))
        self.path = path
        self.db = self.adapter.db

    def close(self) -> None:
        self.adapter.close()
