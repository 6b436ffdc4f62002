"""Fill a server database before a measurement (never timed): real `Todo.create` calls through
`SQLiteStore`, all in one transaction."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from models import Todo
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
