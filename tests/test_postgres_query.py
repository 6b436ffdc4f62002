"""PostgreSQL queries against `models.filters.apply`, the definition, on values no typed model
would store together: each field mixes nulls, missing keys, booleans, integers past 2**53,
floats (large ones too), and strings whose order differs by code point and by the database's
collation (the test databases sort with ICU English). Random queries, seeded, so a failure
replays; each one must give the same ids in the same order, and the same count.
"""

from __future__ import annotations

import random

import pytest

from models.changes import ChangeType
from models.document import Document
from models.filters import apply, normalize
from server.postgres import PostgresStore

MISSING = object()
VALUES = [
    None, True, False, 0, 1, 2, -1, 2.0, 2.5, 0.1 + 0.2, 0.3, 1e16, 1.5e300, -2.5e-7,
    2**53, 2**53 + 1, -(2**63), 2**63 - 1, "", "a", "A", "apple", "Banana", "banana", "é", "É",
    "Ä", "z", "Z", "日本", "😀", "a%b", "a_b", "a\\b", "line\nbreak", "10", "2", " 2",
]
PATTERNS = ["%", "a%", "%A%", "_", "__", "a_b", "a\\b", "a%b", "%\n%", "É%", "é", "%AN%",
            "b_n%", "", "10", "%2"]
FIELDS = ("x", "y")
OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "inq", "nin", "between", "like", "nlike")


def _condition(rng: random.Random) -> dict:
    if rng.random() < 0.15:
        key = rng.choice(("and", "or"))
        return {key: [_condition(rng) for _ in range(rng.randint(1, 3))]}
    field, op = rng.choice(FIELDS), rng.choice(OPS)
    if op in ("inq", "nin"):
        arg = rng.sample(VALUES, rng.randint(0, 4))
    elif op == "between":
        arg = [rng.choice(VALUES), rng.choice(VALUES)]
    elif op in ("like", "nlike"):
        arg = rng.choice(PATTERNS)
    else:
        arg = rng.choice(VALUES)
    return {field: arg} if op == "eq" and rng.random() < 0.3 else {field: {op: arg}}


@pytest.fixture
async def store(postgres_url):
    opened = await PostgresStore.open(postgres_url, max_size=2)
    try:
        yield opened
    finally:
        await opened.close()


async def test_random_queries_agree_with_filters_apply(store):
    rng = random.Random(2024)
    rows = []
    async with store.adapter.transaction() as tx:
        for i in range(80):
            data = {"id": f"r{i:03d}"}
            for field in FIELDS:
                value = rng.choice([*VALUES, MISSING])
                if value is not MISSING:
                    data[field] = value
            rows.append((data["id"], data))
            await tx.put_doc(Document("things", data["id"], "1-" + "0" * 32, 0, False, data,
                                      ChangeType.CREATE))
    stored = {doc.id: doc.data for doc in await store.adapter.query_docs(
        "things", normalize(("id", *FIELDS)))}
    assert stored == dict(rows), "a value changed on its way through jsonb"
    assert all(type(stored[id].get(f)) is type(data.get(f)) for id, data in rows for f in FIELDS)

    for n in range(400):
        where = {}
        for _ in range(rng.randint(1, 2)):
            where.update(_condition(rng))
        order = [f"{rng.choice(FIELDS)} {rng.choice(('ASC', 'DESC'))}"
                 for _ in range(rng.randint(0, 2))]
        limit = rng.choice([None, None, 0, 3, 10])
        skip = rng.choice([0, 0, 2, 7])
        query = normalize(("id", *FIELDS), where=where, order=order or None, limit=limit,
                          skip=skip)
        expected = [id for id, _ in apply(query, rows)]
        got = [doc.id for doc in await store.adapter.query_docs("things", query)]
        assert got == expected, f"query {n}: where={where!r} order={order} limit={limit} " \
                                f"skip={skip}\n got      {got}\n expected {expected}"
        counted = await store.adapter.count_docs("things", query)
        everything = normalize(("id", *FIELDS), where=where)
        assert counted == len(apply(everything, rows)), f"count, where={where!r}"


async def test_tombstones_are_never_found(store):
    written = await store.write("things", "t", {"id": "t", "x": 1}, base_rev=None)
    await store.write("things", "t", None, base_rev=written.rev)
    query = normalize(("id", "x"), where={"x": 1})
    assert await store.find("things", query) == [] and await store.count("things", query) == 0
    assert (await store.get_any("things", "t")).deleted
