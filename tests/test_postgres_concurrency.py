"""Checkpoints and writes under concurrent transactions on PostgreSQL (docs/PROTOCOL.md,
"Checkpoints with concurrent writers").

Two `PostgresStore`s on one database stand for two server processes, each with its own pool.
`HeldAdapter` holds a push's transaction open after its writes, just before commit, until the
test lets it go: the moment where a sequence number handed out early but committed late would
make a reader skip it. The tests wait for conditions the database reports (a backend waiting on
a lock), never for a length of time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator

import psycopg
import pytest

from models import ConflictError, Document
from models.changes import ChangeType
from models.revisions import next_revision
from server.postgres import PostgresAdapter, PostgresStore, PostgresTransaction

MODEL = "todos"
PATIENCE = 600  # polls of 50 ms before a test gives up on a condition (it fails, never hangs)


class HeldAdapter(PostgresAdapter):
    """Every transaction does its work, then waits for `release` before it commits."""

    def __init__(self, pool) -> None:  # type: ignore[no-untyped-def]
        super().__init__(pool)
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        async with super().transaction() as tx:
            yield tx
            self.holding.set()
            await self.release.wait()


@pytest.fixture
async def stores(postgres_url):
    """(held, other): two stores on one database, the first one's transactions held open."""
    held = await PostgresStore.open(postgres_url, max_size=4)
    held.adapter = HeldAdapter(held.pool)
    other = await PostgresStore.open(postgres_url, max_size=4)
    try:
        yield held, other
    finally:
        held.adapter.release.set()
        await held.close()
        await other.close()


def _doc(id: str, title: str, parent: Document | None = None) -> Document:
    data = {"id": id, "title": title, "completed": False, "owner": None}
    prev = parent.rev if parent else None
    return Document(MODEL, id, next_revision(prev, data), 0, False, data,
                    ChangeType.UPDATE if parent else ChangeType.CREATE,
                    (prev,) if prev else ())


async def _until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(PATIENCE):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


async def _waiting_on_a_lock(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'")).fetchone()
    return row[0]


def _waits_or_is_done(task: asyncio.Task, url: str):  # type: ignore[no-untyped-def]
    async def condition() -> bool:
        return task.done() or await _waiting_on_a_lock(url) > 0
    return condition


async def _pull(store: PostgresStore, since: int) -> tuple[list[Document], int]:
    """Everything after `since`, page by page, and the checkpoint a puller would save."""
    docs: list[Document] = []
    while page := await store.feed(MODEL, since, 2):
        docs.extend(page)
        since = page[-1].checkpoint
    return docs, since


async def test_a_pull_while_a_push_is_open_misses_nothing(stores, postgres_url):
    held, other = stores
    await other.apply(MODEL, [_doc("seed", "before")])
    _, since = await _pull(other, 0)

    first = asyncio.create_task(held.apply(MODEL, [_doc("first", "pushed first")]))
    await held.adapter.holding.wait()  # `first` has its checkpoint and its row, uncommitted
    second = asyncio.create_task(other.apply(MODEL, [_doc("second", "pushed second")]))

    await _until(_waits_or_is_done(second, postgres_url),
                 "the second push to wait for the first or commit")
    between, since = await _pull(other, since)  # a pull while `first` is still open
    second_went_ahead = second.done()
    held.adapter.release.set()
    [applied_first], [applied_second] = await first, await second
    after, since = await _pull(other, since)

    pulled = [doc.id for doc in between + after]
    assert sorted(pulled) == ["first", "second"], f"a change was skipped: {pulled}"
    assert not second_went_ahead and between == [], (
        f"the second push committed while the first was open (pulled then: {pulled})")
    assert applied_first.current.checkpoint < applied_second.current.checkpoint, (
        "checkpoints are not in commit order")
    assert since == await other.checkpoint()


async def test_concurrent_pushes_of_one_document_keep_both_revisions(stores, postgres_url):
    held, other = stores
    base = _doc("shared", "base")
    await other.apply(MODEL, [base])
    mine, theirs = _doc("shared", "mine", base), _doc("shared", "theirs", base)

    first = asyncio.create_task(held.apply(MODEL, [mine]))
    await held.adapter.holding.wait()  # `first` has read `base` and written `mine`, uncommitted
    second = asyncio.create_task(other.apply(MODEL, [theirs]))
    await _until(_waits_or_is_done(second, postgres_url), "the second write to wait or commit")
    held.adapter.release.set()
    [one], [two] = await first, await second

    assert (one.status, two.status) == ("applied", "conflict"), (one, two)
    current = await other.get_any(MODEL, "shared")
    assert current.rev == mine.rev and base.rev in current.history
    conflicts = await other.conflicts(MODEL)
    assert [(ours.rev, kept.rev) for ours, kept in conflicts] == [(mine.rev, theirs.rev)], (
        "the second push overwrote the first (a lost update)")


async def test_concurrent_writes_on_one_base_revision_conflict(stores, postgres_url):
    held, other = stores
    created = await other.write(MODEL, "note", {"id": "note", "title": "v1"}, base_rev=None)
    first = asyncio.create_task(held.write(MODEL, "note", {"id": "note", "title": "held"},
                                           base_rev=created.rev))
    await held.adapter.holding.wait()
    second = asyncio.create_task(other.write(MODEL, "note", {"id": "note", "title": "other"},
                                             base_rev=created.rev))
    await _until(_waits_or_is_done(second, postgres_url), "the second write to wait or commit")
    held.adapter.release.set()
    written = await first
    with pytest.raises(ConflictError):
        await second
    current = await other.get(MODEL, "note")
    assert current.rev == written.rev and current.data["title"] == "held"


async def test_many_writers_and_a_puller_see_every_revision(postgres_url):
    """Two stores, eight concurrent writers, one puller pulling all along: the puller ends up
    with every document at its last revision, and saw checkpoints only ever grow."""
    stores = [await PostgresStore.open(postgres_url, max_size=4) for _ in range(2)]
    rng = random.Random(11)
    final: dict[str, str] = {}
    done = asyncio.Event()

    async def writer(n: int) -> None:
        store = stores[n % 2]
        for i in range(15):
            id = f"w{n}-{rng.randrange(5)}"
            current = await store.get_any(MODEL, id)
            doc = await store.write(MODEL, id, {"id": id, "title": f"{n}.{i}"},
                                    base_rev=current.rev if current else None)
            final[id] = doc.rev

    seen: dict[str, str] = {}
    since = 0

    async def puller() -> None:
        nonlocal since
        while True:
            stop = done.is_set()
            docs, reached = await _pull(stores[1], since)
            assert reached >= since
            since = reached
            seen.update((doc.id, doc.rev) for doc in docs)
            if stop:
                return
            await asyncio.sleep(0)

    try:
        pulling = asyncio.create_task(puller())
        await asyncio.gather(*(writer(n) for n in range(8)))
        done.set()
        await pulling
        assert seen == final, "the puller missed a revision"
        assert since == await stores[0].checkpoint()
    finally:
        for store in stores:
            await store.close()
