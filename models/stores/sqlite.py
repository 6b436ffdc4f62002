"""A store in a SQLite database file: the server's default.

`documents` holds each document's current state; `changes` is the write log whose autoincrement
key is the store's checkpoint. A write updates both in one transaction. Pulling changes since a
checkpoint walks the `(model, checkpoint)` index, so it costs what changed, not what is stored.
Queries are translated to SQL over `json_extract`, with the same semantics as `filters.apply`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ..changes import ChangeType
from ..filters import Query
from .base import Document, Store
from .codec import decode, encode

SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    checkpoint INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    rev TEXT NOT NULL,
    prev TEXT,
    type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
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
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS documents_by_checkpoint ON documents (model, checkpoint);
CREATE INDEX IF NOT EXISTS documents_by_owner ON documents (model, owner, checkpoint);
CREATE TABLE IF NOT EXISTS conflicts (
    model TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (model, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


class SQLiteStore(Store):
    def __init__(self, path: str = ":memory:") -> None:
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        columns = {row["name"] for row in self.db.execute("PRAGMA table_info(documents)")}
        if "unacked" not in columns:  # a database written before documents kept unacked bodies
            self.db.execute("ALTER TABLE documents ADD COLUMN unacked TEXT")
        self._depth = 0

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _doc(row: sqlite3.Row) -> Document:
        deleted = bool(row["deleted"])
        data = None if row["data"] is None else json.loads(row["data"])
        base_rev = row["base_rev"]
        return Document(
            model=row["model"],
            id=row["id"],
            rev=row["rev"],
            checkpoint=row["checkpoint"],
            deleted=deleted,
            data=data,
            type=ChangeType(row["type"]),
            history=tuple(json.loads(row["history"])),
            base_rev=base_rev,
            base_data=data if base_rev is not None and base_rev == row["rev"]
            else (None if row["base_data"] is None else json.loads(row["base_data"])),
            owner=row["owner"],
            unacked=tuple((rev, body) for rev, body in json.loads(row["unacked"] or "[]")),
        )

    # ---- primitives ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    def read_doc(self, model: str, id: str) -> Document | None:
        row = self.db.execute(
            "SELECT * FROM documents WHERE model = ? AND id = ?", (model, id)
        ).fetchone()
        return None if row is None else self._doc(row)

    def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        with self.transaction():
            if new_checkpoint:
                cursor = self.db.execute(
                    "INSERT INTO changes (model, id, rev, prev, type) VALUES (?, ?, ?, ?, ?)",
                    (doc.model, doc.id, doc.rev, doc.prev, doc.type.value),
                )
                doc = replace(doc, checkpoint=cursor.lastrowid)
            self.db.execute(
                "INSERT OR REPLACE INTO documents (model, id, rev, checkpoint, deleted, type, data,"
                " history, base_rev, base_data, owner, unacked)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.model, doc.id, doc.rev, doc.checkpoint, int(doc.deleted), doc.type.value,
                 _json(doc.data), json.dumps(list(doc.history)), doc.base_rev,
                 None if doc.base_rev == doc.rev else _json(doc.base_data), doc.owner,
                 _json([list(item) for item in doc.unacked]) if doc.unacked else None),
            )
        return doc

    def read_conflict(self, model: str, id: str) -> Document | None:
        row = self.db.execute(
            "SELECT doc FROM conflicts WHERE model = ? AND id = ?", (model, id)
        ).fetchone()
        return None if row is None else decode(model, id, row["doc"])

    def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        if doc is None:
            self.db.execute("DELETE FROM conflicts WHERE model = ? AND id = ?", (model, id))
        else:
            self.db.execute(
                "INSERT OR REPLACE INTO conflicts (model, id, doc) VALUES (?, ?, ?)",
                (model, id, encode(doc)),
            )

    def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        rows = self.db.execute(
            "SELECT id, doc FROM conflicts WHERE model = ? ORDER BY id", (model,)
        ).fetchall()
        return [(self.read_doc(model, row["id"]), decode(model, row["id"], row["doc"]))
                for row in rows]

    def query_docs(self, model: str, query: Query) -> list[Document]:
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
        return [self._doc(row) for row in rows]

    def count_docs(self, model: str, query: Query) -> int:
        where_sql, params = where_clause(query.where)
        sql = f"SELECT COUNT(*) FROM documents WHERE model = ? AND deleted = 0 AND ({where_sql})"
        return self.db.execute(sql, (model, *params)).fetchone()[0]

    def feed_docs(
        self, model: str, since: int, limit: int, owner: str | None = None
    ) -> list[Document]:
        if owner is None:
            rows = self.db.execute(
                "SELECT * FROM documents WHERE model = ? AND checkpoint > ? "
                "ORDER BY checkpoint LIMIT ?",
                (model, since, limit),
            ).fetchall()
        else:
            rows = self.db.execute(
                "SELECT * FROM documents WHERE model = ? AND owner = ? AND checkpoint > ? "
                "ORDER BY checkpoint LIMIT ?",
                (model, owner, since, limit),
            ).fetchall()
        return [self._doc(row) for row in rows]

    async def pending(self, model: str, since: int = 0, owner: str | None = None) -> int:
        if owner is not None:  # on the owner index
            return self.db.execute(
                "SELECT COUNT(*) FROM documents WHERE model = ? AND owner = ? AND checkpoint > ?",
                (model, owner, since),
            ).fetchone()[0]
        return self.db.execute(
            "SELECT COUNT(*) FROM documents WHERE model = ? AND checkpoint > ?", (model, since)
        ).fetchone()[0]

    def last_checkpoint(self) -> int:
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return row[0] if row else 0

    def purge_horizon(self, model: str) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"horizon:{model}",))
        found = row.fetchone()
        return found[0] if found else 0

    def read_mark(self, name: str) -> int | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (f"mark:{name}",))
        found = row.fetchone()
        return found[0] if found else None

    def put_mark(self, name: str, value: int) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value", (f"mark:{name}", value),
        )

    def drop_tombstones(self, model: str, through: int) -> int:
        with self.transaction():
            gone = self.db.execute(
                "DELETE FROM documents WHERE model = ? AND deleted = 1 AND checkpoint <= ?",
                (model, through),
            ).rowcount
            self.db.execute(
                "DELETE FROM changes WHERE model = ? AND checkpoint <= ?", (model, through)
            )
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = max(value, excluded.value)",
                (f"horizon:{model}", through),
            )
        return gone


# ---- filters as SQL ---------------------------------------------------------------------------

def json_path(name: str) -> str:
    """`json_extract` of a field. Names were checked against the model's fields by `normalize`."""
    return f"json_extract(data, '$.\"{name}\"')"


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def where_clause(where: dict | None) -> tuple[str, list]:
    if not where:
        return "1", []
    parts: list[str] = []
    params: list = []
    for key, cond in where.items():
        if key in ("and", "or"):
            subs = [where_clause(sub) for sub in cond]
            joiner = " AND " if key == "and" else " OR "
            parts.append("(" + joiner.join(f"({s})" for s, _ in subs) + ")")
            for _, p in subs:
                params.extend(p)
            continue
        column = json_path(key)
        op, arg = next(iter(cond.items())) if isinstance(cond, dict) else ("eq", cond)
        if op == "eq":
            if arg is None:
                parts.append(f"{column} IS NULL")
            else:
                parts.append(f"{column} = ?")
                params.append(_param(arg))
        elif op == "neq":
            if arg is None:
                parts.append(f"{column} IS NOT NULL")
            else:
                parts.append(f"({column} IS NOT NULL AND {column} != ?)")
                params.append(_param(arg))
        elif op in ("gt", "gte", "lt", "lte"):
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            parts.append(f"{column} {symbol} ?")
            params.append(_param(arg))
        elif op in ("inq", "nin"):
            values = [_param(v) for v in arg if v is not None]
            marks = ", ".join("?" for _ in values)
            if op == "inq":
                parts.append(f"{column} IN ({marks})")
            else:
                parts.append(f"({column} IS NOT NULL AND {column} NOT IN ({marks}))")
            params.extend(values)
        elif op == "between":
            parts.append(f"{column} BETWEEN ? AND ?")
            params.extend(_param(v) for v in arg)
        elif op in ("like", "nlike"):
            negate = "NOT " if op == "nlike" else ""
            parts.append(
                f"(json_type(data, '$.\"{key}\"') = 'text' AND {column} {negate}LIKE ?)"
            )
            params.append(arg)
    return " AND ".join(parts), params
