"""Feeds on PostgreSQL cost what changed, not what is stored (docs/ARCHITECTURE.md, rule 3).

Two databases with the same shape, 2,000 and 50,000 todos among 100 owners plus another model
interleaved, are filled in bulk with SQL (the plans are the point here, not the write path) and
ANALYZEd, as autovacuum would. The planner is left free (`enable_seqscan` stays on): it must pick
the index itself. Shown without timing: `EXPLAIN (ANALYZE, BUFFERS)` of the statements the
adapter runs, whose scans touch the rows asked for and a number of pages that does not grow
with the table, while a scan of the table does.
"""

from __future__ import annotations

import psycopg
import pytest

from server.postgres import PostgresStore
from server.postgres.adapter import (
    COUNT_CHANGED_BY_OWNER,
    COUNT_CHANGED_BY_OWNERS,
    FEED,
    FEED_BY_OWNER,
    FEED_BY_OWNERS,
)

OWNERS = 100
NEW = 10  # the changes a pull asks for, all of owner u7, the newest in the table
FILL = """
INSERT INTO documents (model, id, rev, checkpoint, deleted, type, data, history, owner)
SELECT CASE WHEN n % 40 = 0 THEN 'items' ELSE 'todos' END, 'd' || lpad(n::text, 7, '0'),
       '1-' || md5(n::text), n, false, 'create',
       jsonb_build_object('id', 'd' || n, 'title', 'todo ' || n, 'order', n,
                          'owner', 'u' || (n % %(owners)s)),
       '[]', 'u' || (n % %(owners)s)
FROM generate_series(1, %(rows)s) AS n;
INSERT INTO documents (model, id, rev, checkpoint, deleted, type, data, history, owner)
SELECT 'todos', 'new' || n, '1-' || md5('new' || n), %(rows)s + n, false, 'create',
       jsonb_build_object('id', 'new' || n, 'title', 'new', 'owner', 'u7'), '[]', 'u7'
FROM generate_series(1, %(new)s) AS n;
UPDATE meta SET value = %(rows)s + %(new)s WHERE key = 'seq';
"""


def _fill(conn: psycopg.Connection, rows: int) -> None:
    conn.execute(FILL.replace("%(owners)s", str(OWNERS)).replace("%(rows)s", str(rows))
                 .replace("%(new)s", str(NEW)))
    conn.execute("ANALYZE documents")


async def _create_schema(url: str) -> None:
    store = await PostgresStore.open(url)
    await store.close()


@pytest.fixture(scope="module")
def databases(postgres_cluster):
    """{"small": url, "big": url}, schema from `PostgresStore.open`, rows from `FILL`."""
    import asyncio

    urls = {}
    for name, rows in (("small", 2_000), ("big", 50_000)):
        url = postgres_cluster.create_database(f"plans_{name}")
        asyncio.run(_create_schema(url))
        with psycopg.connect(url, autocommit=True) as conn:
            _fill(conn, rows)
        urls[name] = (url, rows)
    return urls


def _explain(url: str, statement: str, params: tuple) -> dict:
    with psycopg.connect(url) as conn:
        (plan,), = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params).fetchone()
    return plan["Plan"]


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(node for child in plan.get("Plans", ()) for node in _nodes(child))]


def _pages(plan: dict) -> int:
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


def _scan(plan: dict, index: str) -> dict:
    nodes = _nodes(plan)
    kinds = [node["Node Type"] for node in nodes]
    assert not any("Seq Scan" in kind or "Bitmap" in kind for kind in kinds), kinds
    scans = [node for node in nodes if node.get("Index Name") == index]
    assert scans, f"no scan of {index}: {kinds}"
    assert not any(node["Node Type"] == "Sort" for node in nodes), "the index gives the order"
    return scans[0]


def test_one_owners_feed_walks_the_owner_index(databases):
    url, rows = databases["big"]
    plan = _explain(url, FEED_BY_OWNER, ("todos", "u7", rows, 1000))
    scan = _scan(plan, "documents_by_owner")
    assert scan["Actual Rows"] == NEW and scan.get("Rows Removed by Filter", 0) == 0, scan


def test_the_models_feed_walks_the_checkpoint_index(databases):
    url, rows = databases["big"]
    plan = _explain(url, FEED, ("todos", rows, 1000))
    scan = _scan(plan, "documents_by_checkpoint")
    assert scan["Actual Rows"] == NEW and scan.get("Rows Removed by Filter", 0) == 0, scan


def test_a_pull_of_ten_changes_reads_as_many_pages_at_any_table_size(databases):
    pages = {}
    for name, (url, rows) in databases.items():
        for what, statement, params in (
            ("owner feed", FEED_BY_OWNER, ("todos", "u7", rows, 1000)),
            ("model feed", FEED, ("todos", rows, 1000)),
            ("owner pending", COUNT_CHANGED_BY_OWNER, ("todos", "u7", rows)),
        ):
            pages[name, what] = _pages(_explain(url, statement, params))
        pages[name, "table scan"] = _pages(_explain(
            url, "SELECT count(*) FROM documents WHERE (data ->> 'order')::int >= 0", ()))
    print("pages read", pages)
    for what in ("owner feed", "model feed", "owner pending"):
        # one more b-tree level at most as the table grows 25 times
        assert pages["big", what] <= pages["small", what] + 2, pages
        assert pages["big", what] * 50 < pages["big", "table scan"], pages
    assert pages["big", "table scan"] > 10 * pages["small", "table scan"], pages


async def test_the_store_pulls_those_ten_through_the_feed(databases):
    url, rows = databases["big"]
    store = await PostgresStore.open(url)
    try:
        docs = await store.feed("todos", rows, 1000, owner="u7")
        assert [doc.id for doc in docs] == [f"new{n}" for n in range(1, NEW + 1)]
        assert await store.pending("todos", rows, owner="u7") == NEW
        assert len(await store.feed("todos", rows - 400, 1000, owner="u7")) == NEW + 4
    finally:
        await store.close()


# ---- a member of lists: the feed over the owners they read (docs/ARCHITECTURE.md) -----------
#
# A pull of a member is `owner = ANY(<the lists they read, their default list, their id>)`.
# A restamp after a member is added gives a list's documents new checkpoints, so the pulls after
# it are the same walk over what changed. The planner picks the owner index when the owners
# hold few of the rows, the checkpoint index (filtering) when they hold many; either way the
# rows it touches are at most about twice those it returns (a page, or what changed), never
# the table.

MEMBERS = {"5 of 100 owners": ("u7", "u8", "u9", "u10", "u11"),
           "50 of 100 owners": ("u7", *(f"u{n}" for n in range(50, 99)))}
OFFLINE = 10_000  # the changes (of everyone) a device offline for a while is behind


def _touched(plan: dict) -> tuple[int, int]:
    """(rows the plan's scans read, rows it returned)."""
    nodes = _nodes(plan)
    kinds = [node["Node Type"] for node in nodes]
    assert not any("Seq Scan" in kind for kind in kinds), kinds
    scans = [node for node in nodes if "Scan" in node["Node Type"]
             and node["Node Type"] != "Bitmap Index Scan"]
    return sum(n["Actual Rows"] + n.get("Rows Removed by Filter", 0) for n in scans), \
        plan["Actual Rows"]


@pytest.mark.parametrize("member", MEMBERS)
def test_a_members_pull_touches_about_what_it_returns(databases, member):
    url, rows = databases["big"]
    owners = list(MEMBERS[member])
    for since in (rows, rows - OFFLINE):
        plan = _explain(url, FEED_BY_OWNERS, ("todos", owners, since, 1000))
        touched, returned = _touched(plan)
        print(member, since, plan["Node Type"], [(n["Node Type"], n.get("Index Name"))
                                                 for n in _nodes(plan)], touched, returned)
        assert returned == (NEW if since == rows else min(1000, returned)) and returned > 0
        assert touched <= 2.1 * returned + NEW, (member, since, touched, returned)
        counted = _explain(url, COUNT_CHANGED_BY_OWNERS, ("todos", owners, since))
        touched, _ = _touched(counted)
        assert touched <= 2 * OFFLINE * len(owners) // OWNERS + 2 * NEW, (member, touched)


def test_a_members_pull_of_ten_changes_reads_as_many_pages_at_any_table_size(databases):
    pages = {}
    for name, (url, rows) in databases.items():
        for member, owners in MEMBERS.items():
            pages[name, member, "feed"] = _pages(_explain(
                url, FEED_BY_OWNERS, ("todos", list(owners), rows, 1000)))
            pages[name, member, "pending"] = _pages(_explain(
                url, COUNT_CHANGED_BY_OWNERS, ("todos", list(owners), rows)))
    print("pages read by a member's pull of 10 changes", pages)
    for member in MEMBERS:
        for what in ("feed", "pending"):
            # at most one index descent per owner more as the table grows 25 times
            assert pages["big", member, what] <= pages["small", member, what] + len(
                MEMBERS[member]), pages
            assert pages["big", member, what] <= 3 * len(MEMBERS[member]) + 10, pages


async def test_the_store_pulls_a_members_changes_through_the_feed(databases):
    url, rows = databases["big"]
    store = await PostgresStore.open(url)
    try:
        for owners in MEMBERS.values():
            docs = await store.feed("todos", rows, 1000, owner=owners)
            assert [doc.id for doc in docs] == [f"new{n}" for n in range(1, NEW + 1)]
            assert await store.pending("todos", rows, owner=owners) == NEW
    finally:
        await store.close()
