"""Replication facts that need SQLite itself (CPython only; the shared cases cover behaviour).

Rule 3 (docs/ARCHITECTURE.md): pulling changes after checkpoint C costs what changed since C, not
the size of the table. Shown two ways, neither a timing: the query plan of the statements the store
really runs (captured with `set_trace_callback`), and the number of SQLite virtual-machine steps
they take (`set_progress_handler` called every step), which must not grow with the table.
"""

from __future__ import annotations

import pytest

from models import Document, MemoryStore, Todo, replicate
from models.changes import ChangeType
from models.revisions import next_revision
from models.stores.sqlite import SQLiteStore


def _docs(n: int, start: int = 0) -> list[Document]:
    out = []
    for i in range(start, start + n):
        data = {"id": f"d{i:06d}", "title": f"todo {i}", "completed": i % 3 == 0,
                "created_at": None, "updated_at": None, "order": i}
        out.append(Document("todos", data["id"], next_revision(None, data), 0, False, data,
                            ChangeType.CREATE))
    return out


async def _filled(path: str, n: int) -> SQLiteStore:
    store = SQLiteStore(path)
    for start in range(0, n, 5000):
        await store.apply("todos", _docs(min(5000, n - start), start))
    # Another model's changes interleaved, so the index must also skip by model.
    await store.apply("items", [Document("items", f"i{i}", next_revision(None, {"id": f"i{i}"}),
                                         0, False, {"id": f"i{i}"}) for i in range(50)])
    await store.apply("todos", _docs(10, n))
    return store


class Steps:
    """Counts SQLite VM steps and records every statement run on a connection."""

    def __init__(self, db) -> None:
        self.db = db
        self.steps = 0
        self.statements: list[str] = []

    def __enter__(self) -> Steps:
        def tick() -> int:
            self.steps += 1
            return 0

        self.db.set_progress_handler(tick, 1)
        self.db.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc) -> None:
        self.db.set_progress_handler(None, 1)
        self.db.set_trace_callback(None)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    import asyncio

    base = tmp_path_factory.mktemp("replication")
    loop = asyncio.new_event_loop()
    try:
        small = loop.run_until_complete(_filled(str(base / "small.db"), 2_000))
        big = loop.run_until_complete(_filled(str(base / "big.db"), 20_000))
    finally:
        loop.close()
    yield small, big
    small.close()
    big.close()


def _plan(db, sql: str) -> str:
    return "\n".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())


async def test_feed_after_checkpoint_walks_the_model_checkpoint_index(stores):
    _, big = stores
    last = await big.checkpoint()
    with Steps(big.db) as seen:
        docs = await big.feed("todos", last - 10, 1000)
    assert [d.id for d in docs] == [f"d{i:06d}" for i in range(20_000, 20_010)]
    selects = [s for s in seen.statements if s.lstrip().upper().startswith("SELECT")
               and "documents" in s]
    assert selects, f"no SELECT on documents was traced: {seen.statements}"
    for sql in selects:
        plan = _plan(big.db, sql)
        assert "USING INDEX documents_by_checkpoint (model=? AND checkpoint>?)" in plan, (
            f"{sql}\n{plan}")
        assert "SCAN" not in plan and "TEMP B-TREE" not in plan, f"{sql}\n{plan}"


async def test_feed_cost_does_not_grow_with_the_table(stores):
    small, big = stores
    costs = {}
    for name, store in (("small", small), ("big", big)):
        last = await store.checkpoint()
        with Steps(store.db) as seen:
            docs = await store.feed("todos", last - 10, 1000)
        assert len(docs) == 10
        costs[name] = seen.steps
        with Steps(store.db) as full:
            store.db.execute("SELECT count(*) FROM documents WHERE json_extract(data, '$.order')"
                             " >= 0").fetchone()
        costs[name + " full scan"] = full.steps
    # ten rows cost the same whatever sits behind them; a scan costs ten times more on big
    print("feed VM steps", costs)
    assert costs["big"] <= costs["small"] * 1.2 + 50, costs
    assert costs["big"] * 100 < costs["big full scan"], costs
    assert costs["big full scan"] > 5 * costs["small full scan"], costs


async def test_feed_cost_grows_with_what_changed(stores):
    _, big = stores
    last = await big.checkpoint()
    steps = {}
    for back in (10, 100, 1000):
        with Steps(big.db) as seen:
            docs = await big.feed("todos", last - back, 10_000)
        steps[back] = seen.steps
        assert len(docs) == (back if back <= 10 else back - 50)  # 50 `items` changes between
    assert steps[1000] > 50 * steps[10] > 0, steps
    per_row = steps[1000] / 1000
    assert steps[10] < per_row * 10 * 3 + 200, steps


async def test_incremental_replication_reads_only_recent_changes(stores):
    """A whole replicate(since=C) from the 20,000-document store: what it asks SQLite for, and
    how much work that is, compared with the 2,000-document store."""
    costs = {}
    for name, store in zip(("small", "big"), stores, strict=True):
        last = await store.checkpoint()
        target = MemoryStore()
        with Steps(store.db) as seen:
            result = await replicate(store, target, last - 10, models=[Todo])
        assert result.count("applied") == 10 and result.conflicts == []
        costs[name] = seen.steps
        for sql in seen.statements:
            if sql.lstrip().upper().startswith("SELECT") and "FROM documents" in sql:
                plan = _plan(store.db, sql)
                assert "SCAN documents" not in plan, f"{sql}\n{plan}"
    assert costs["big"] <= costs["small"] * 1.2 + 100, costs


async def test_sqlite_to_sqlite_replication_both_ways(tmp_path):
    a, b = SQLiteStore(str(tmp_path / "a.db")), SQLiteStore(str(tmp_path / "b.db"))
    try:
        A, B = Todo.using(a), Todo.using(b)
        first = await A.create(title="from a", order=1)
        await B.create(title="from b", order=2)
        push = await replicate(a, b, models=[Todo])
        pull = await replicate(b, a, models=[Todo])
        assert push.conflicts == pull.conflicts == []
        await first.update(completed=True)
        await replicate(a, b, push.checkpoint, models=[Todo])

        def rows(store):
            return sorted(tuple(r) for r in store.db.execute(
                "SELECT id, rev, deleted, data FROM documents WHERE model = 'todos'"))

        assert rows(a) == rows(b) and len(rows(a)) == 2
    finally:
        a.close()
        b.close()


# ---- a member of lists: the feed over the owners they read -----------------------------------

LISTS = 100
MEMBER_OF = ("l7", "l8", "l9", "l10", "l11")  # 5 lists of 100; the 10 newest changes are in l7


def _listed_docs(n: int, start: int = 0, list_of=lambda i: f"l{i % LISTS}") -> list[Document]:
    out = []
    for i in range(start, start + n):
        data = {"id": f"d{i:06d}", "title": f"todo {i}", "completed": False, "created_at": None,
                "updated_at": None, "order": i, "owner": "u", "list_id": list_of(i)}
        out.append(Document("todos", data["id"], next_revision(None, data), 0, False, data,
                            ChangeType.CREATE, owner=data["list_id"]))
    return out


async def _filled_lists(path: str, n: int) -> SQLiteStore:
    store = SQLiteStore(path)
    for start in range(0, n, 5000):
        await store.apply("todos", _listed_docs(min(5000, n - start), start))
    await store.apply("todos", _listed_docs(10, n, lambda i: "l7"))
    return store


@pytest.fixture(scope="module")
def list_stores(tmp_path_factory):
    import asyncio

    base = tmp_path_factory.mktemp("lists")
    loop = asyncio.new_event_loop()
    try:
        small = loop.run_until_complete(_filled_lists(str(base / "small.db"), 2_000))
        big = loop.run_until_complete(_filled_lists(str(base / "big.db"), 20_000))
    finally:
        loop.close()
    yield small, big
    small.close()
    big.close()


async def test_a_members_pull_costs_what_changed_in_their_lists(list_stores):
    """A member of 5 lists among 100 pulls the 10 changes after their checkpoint (what a pull
    after a restamp is too): the statements use an index, never a scan of the table, and take
    as many VM steps at 2,000 todos as at 20,000."""
    costs = {}
    for name, store in zip(("small", "big"), list_stores, strict=True):
        last = await store.checkpoint()
        with Steps(store.db) as seen:
            docs = await store.feed("todos", last - 10, 1000, owner=MEMBER_OF)
            assert await store.pending("todos", last - 10, owner=MEMBER_OF) == 10
        assert len(docs) == 10 and {d.owner for d in docs} == {"l7"}
        costs[name] = seen.steps
        for sql in [s for s in seen.statements if "FROM documents" in s]:
            plan = _plan(store.db, sql)
            assert "INDEX documents_by_" in plan and "SCAN documents" not in plan, (
                f"{sql}\n{plan}")
    print("a member's pull, VM steps", costs)
    assert costs["big"] <= costs["small"] * 1.2 + 50, costs
