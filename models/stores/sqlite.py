"""A store in a SQLite database file: the server's default.

`documents` holds each document's current state; `changes` is the write log whose autoincrement
key is the store's checkpoint. A write updates both in one transaction. Pulling changes since a
checkpoint walks the `(model, checkpoint)` index, so it costs what changed, not what is stored.
Queries are translated to SQL over `json_extract`, with the same semantics as `filters.apply`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from typing import Any

from ..changes import Change, ChangeType
from ..filters import Query
from .base import Document, Store, plan_write

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
    prev TEXT,
    checkpoint INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL,
    data TEXT,
    PRIMARY KEY (model, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS documents_by_checkpoint ON documents (model, checkpoint);
"""


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

    def close(self) -> None:
        self.db.close()

    # ---- reading -----------------------------------------------------------------------------
    @staticmethod
    def _doc(row: sqlite3.Row) -> Document:
        return Document(
            model=row["model"],
            id=row["id"],
            rev=row["rev"],
            prev=row["prev"],
            checkpoint=row["checkpoint"],
            deleted=bool(row["deleted"]),
            data=None if row["data"] is None else json.loads(row["data"]),
            type=ChangeType(row["type"]),
        )

    async def get_any(self, model: str, id: str) -> Document | None:
        row = self.db.execute(
            "SELECT * FROM documents WHERE model = ? AND id = ?", (model, id)
        ).fetchone()
        return None if row is None else self._doc(row)

    async def find(self, model: str, query: Query) -> list[Document]:
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

    async def count(self, model: str, query: Query) -> int:
        where_sql, params = where_clause(query.where)
        sql = f"SELECT COUNT(*) FROM documents WHERE model = ? AND deleted = 0 AND ({where_sql})"
        return self.db.execute(sql, (model, *params)).fetchone()[0]

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        if limit <= 0:
            return []
        rows = self.db.execute(
            "SELECT * FROM documents WHERE model = ? AND checkpoint > ? "
            "ORDER BY checkpoint LIMIT ?",
            (model, since, limit),
        ).fetchall()
        return [self._doc(row).change for row in rows]

    async def checkpoint(self) -> int:
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return row[0] if row else 0

    # ---- writing -----------------------------------------------------------------------------
    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            current = await self.get_any(model, id)
            planned = plan_write(model, id, current, data, base_rev, 0)
            cursor = self.db.execute(
                "INSERT INTO changes (model, id, rev, prev, type) VALUES (?, ?, ?, ?, ?)",
                (model, id, planned.rev, planned.prev, planned.type.value),
            )
            doc = replace(planned, checkpoint=cursor.lastrowid)
            self.db.execute(
                "INSERT OR REPLACE INTO documents"
                " (model, id, rev, prev, checkpoint, deleted, type, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (model, id, doc.rev, doc.prev, doc.checkpoint, int(doc.deleted), doc.type.value,
                 None if data is None else json.dumps(data, ensure_ascii=False)),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return doc


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
