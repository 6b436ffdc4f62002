"""Fill a server database before a measurement (never timed): real `Todo.create` calls through
`SQLiteStore`, all in one transaction; or, for a million documents (`bulk_fresh`), rows copied
from one real `Todo.create` and written with one `executemany`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from models import Todo, default_list_id
from models.ownership import owner_of
from models.stores.sqlite import SQLiteStore

from .server import remove_database

OTHER_USERS = 1000  # a large database holds many users' todos, not one user's


async def _fill(path: Path, n: int, prefix: str, owners: list[str]) -> None:
    store = SQLiteStore(str(path))
    try:
        bound = [Todo.using(store).as_user(owner) for owner in owners]
        async with store.adapter.transaction():
            for i in range(n):
                await bound[i % len(bound)].create(title=f"{prefix} {i}", completed=i % 3 == 0)
    finally:
        store.close()


def _run(coroutine) -> None:
    """`asyncio.run` in a thread of its own: Playwright's sync API keeps a loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def fill(path: Path, n: int, owner: str, prefix: str = "server todo") -> None:
    """`n` todos of `owner`, as if that user had written them. Safe while the server runs: SQLite
    (WAL) lets this one transaction in between requests."""
    _run(_fill(Path(path), n, prefix, [owner]))


def fresh(path: Path, n: int) -> None:
    """A new database holding exactly `n` todos, spread evenly over `OTHER_USERS` users."""
    remove_database(Path(path))
    owners = [f"bench-other-{k:04d}" for k in range(min(n, OTHER_USERS))]
    _run(_fill(Path(path), n, "someone's todo", owners))


async def _template(path: Path, owner: str) -> dict:
    """One real todo written through `SQLiteStore` (the schema and the row format are the
    store's own), read back as a row to copy."""
    store = SQLiteStore(str(path))
    try:
        await Todo.using(store).as_user(owner).create(title="template", completed=False)
    finally:
        store.close()
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        return dict(db.execute("SELECT * FROM documents").fetchone())
    finally:
        db.close()


def bulk_fresh(path: Path, n: int) -> None:
    """Like `fresh` (a new database of exactly `n` todos over `OTHER_USERS` users), in seconds
    for a million: each row is the template row with its own id, owner, title and checkpoint, the
    sequence set past the last one. Revisions repeat the template's (no read here checks them)."""
    path = Path(path)
    remove_database(path)
    owners = [f"bench-other-{k:04d}" for k in range(min(n, OTHER_USERS))]
    with ThreadPoolExecutor(1) as pool:
        row = pool.submit(asyncio.run, _template(path, owners[0])).result()
    data = json.loads(row["data"])
    names = list(row)
    stamp = uuid.uuid4().hex[:16]

    def rows():
        for i in range(n):
            doc_id = f"{stamp}{i:016x}"  # ascending: appended to the primary key, not scattered
            owner = owners[i % len(owners)]
            body = dict(data, id=doc_id, owner=owner, title=f"someone's todo {i}",
                        completed=i % 3 == 0)
            if "list_id" in body:  # a todo belongs to its list: the owner column holds the list
                body["list_id"] = default_list_id(owner)
            yield tuple({**row, "id": doc_id, "owner": owner_of("todos", body), "checkpoint": i + 1,
                         "data": json.dumps(body, separators=(",", ":"))}[k] for k in names)

    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN")
        db.execute("DELETE FROM documents")
        db.executemany(f"INSERT INTO documents ({', '.join(names)}) "
                       f"VALUES ({', '.join('?' * len(names))})", rows())
        db.execute("UPDATE meta SET value = ? WHERE key = 'seq'", (n,))
        db.execute("COMMIT")
    finally:
        db.close()
