"""Queries: `where` operators, order, limit and skip, and malformed filters."""

from __future__ import annotations

from models import FilterError, Todo

from .helpers import Item, ids, raises, seed_items
from .registry import case


async def _expect(Items, where, expected, **kw):
    got = ids(await Items.find(where=where, **kw))
    assert got == expected, f"where={where!r} {kw or ''}: expected {expected}, got {got}"
    count = await Items.count(where=where)
    if not kw:
        assert count == len(expected), f"count(where={where!r}) = {count}, find gave {got}"


@case
async def where_eq_neq(store):
    Items = await seed_items(store)
    await _expect(Items, {"rank": 2}, ["c", "f"])
    await _expect(Items, {"rank": {"eq": 2}}, ["c", "f"])
    await _expect(Items, {"rank": 2.0}, ["c", "f"])
    await _expect(Items, {"name": "apple"}, ["a"])
    await _expect(Items, {"name": "APPLE"}, [])
    await _expect(Items, {"rank": {"neq": 2}}, ["a", "b", "e"])
    await _expect(Items, {"name": {"neq": "apple"}}, ["b", "c", "d", "e", "f"])
    await _expect(Items, {"rank": "2"}, [])
    await _expect(Items, {"id": "e"}, ["e"])
    await _expect(Items, {"rank": 2, "flag": True}, ["c"])


@case
async def where_comparisons(store):
    Items = await seed_items(store)
    await _expect(Items, {"rank": {"gt": 2}}, ["a", "e"])
    await _expect(Items, {"rank": {"gte": 2}}, ["a", "c", "e", "f"])
    await _expect(Items, {"rank": {"lt": 2}}, ["b"])
    await _expect(Items, {"rank": {"lte": 2}}, ["b", "c", "f"])
    await _expect(Items, {"rank": {"gt": 2.4}}, ["a", "e"])
    await _expect(Items, {"name": {"gt": "c"}}, ["c", "d", "e", "f"])
    await _expect(Items, {"name": {"lt": "a"}}, ["b"])
    await _expect(Items, {"rank": {"gt": None}}, [])


@case
async def where_inq_nin_between(store):
    Items = await seed_items(store)
    await _expect(Items, {"rank": {"inq": [1, 3]}}, ["a", "b"])
    await _expect(Items, {"rank": {"nin": [1, 3]}}, ["c", "e", "f"])
    await _expect(Items, {"name": {"inq": ["fig", "date", "kiwi"]}}, ["d", "f"])
    await _expect(Items, {"rank": {"inq": []}}, [])
    await _expect(Items, {"rank": {"nin": []}}, ["a", "b", "c", "e", "f"])
    await _expect(Items, {"note": {"inq": [None, "red"]}}, ["c"])
    await _expect(Items, {"rank": {"between": [2, 3]}}, ["a", "c", "e", "f"])
    await _expect(Items, {"rank": {"between": [1.5, 2.5]}}, ["c", "e", "f"])
    await _expect(Items, {"rank": {"between": [3, 2]}}, [])
    await _expect(Items, {"name": {"between": ["b", "d"]}}, ["c"])


@case
async def where_like_nlike(store):
    Items = await seed_items(store)
    await _expect(Items, {"name": {"like": "%an%"}}, ["b"])
    await _expect(Items, {"name": {"like": "ban%"}}, ["b"])
    await _expect(Items, {"name": {"like": "%E%"}}, ["a", "c", "d", "e"])
    await _expect(Items, {"name": {"like": "_ig"}}, ["f"])
    await _expect(Items, {"name": {"like": "fi"}}, [])
    await _expect(Items, {"name": {"like": "elder_berry"}}, ["e"])
    await _expect(Items, {"note": {"like": "100%"}}, ["e"])
    await _expect(Items, {"name": {"nlike": "%e%"}}, ["b", "f"])
    await _expect(Items, {"note": {"nlike": "%r%"}}, ["b", "e"])
    await _expect(Items, {"rank": {"like": "%"}}, [])


@case
async def where_null_handling(store):
    Items = await seed_items(store)
    await _expect(Items, {"note": None}, ["a", "f"])
    await _expect(Items, {"note": {"eq": None}}, ["a", "f"])
    await _expect(Items, {"note": {"neq": None}}, ["b", "c", "d", "e"])
    await _expect(Items, {"rank": None}, ["d"])
    await _expect(Items, {"note": {"neq": "red"}}, ["b", "d", "e"])
    await _expect(Items, {"rank": {"lt": 100}}, ["a", "b", "c", "e", "f"])
    await _expect(Items, {"rank": {"between": [None, 3]}}, [])


@case
async def where_booleans(store):
    Items = await seed_items(store)
    await _expect(Items, {"flag": True}, ["a", "c"])
    await _expect(Items, {"flag": False}, ["b", "e", "f"])
    await _expect(Items, {"flag": {"eq": False}}, ["b", "e", "f"])
    await _expect(Items, {"flag": {"neq": True}}, ["b", "e", "f"])
    await _expect(Items, {"flag": None}, ["d"])
    await _expect(Items, {"flag": {"inq": [True, None]}}, ["a", "c"])
    T = Todo.using(store)
    done = await T.create(title="done", completed=True)
    await T.create(title="open")
    assert ids(await T.find(where={"completed": True})) == [done.id]


@case
async def where_and_or(store):
    Items = await seed_items(store)
    await _expect(Items, {"and": [{"flag": False}, {"rank": {"gte": 2}}]}, ["e", "f"])
    await _expect(Items, {"or": [{"rank": 1}, {"note": "red"}]}, ["b", "c"])
    await _expect(Items, {"or": [{"and": [{"flag": True}, {"rank": {"gt": 2}}]}, {"name": "fig"}]},
                  ["a", "f"])
    await _expect(Items, {"flag": False, "or": [{"rank": 1}, {"rank": 2}]}, ["b", "f"])
    await _expect(Items, {"and": [{"or": [{"note": None}, {"note": "red"}]}, {"rank": {"lt": 3}}]},
                  ["c", "f"])
    await _expect(Items, {"or": [{"name": "nothing"}]}, [])
    await _expect(Items, {"and": [{}]}, ["a", "b", "c", "d", "e", "f"])


@case
async def large_integers_compare_exactly(store):
    Items = Item.using(store)
    big = 2**53
    await Items.create(id="low", rank=big)
    await Items.create(id="high", rank=big + 1)
    assert (await Items.find_by_id("high")).rank == big + 1, "the store changed a large integer"
    got = ids(await Items.find(where={"rank": big + 1}))
    assert got == ["high"], f"rank == 2**53+1 matched {got}; numbers must compare exactly"
    got = ids(await Items.find(where={"rank": {"gt": big}}))
    assert got == ["high"], f"rank > 2**53 matched {got}"
    got = ids(await Items.find(order="rank DESC"))
    assert got == ["high", "low"], f"rank DESC gave {got}"



@case
async def order_asc_desc_multi_key(store):
    Items = await seed_items(store)
    await _expect(Items, None, ["a", "b", "c", "d", "e", "f"])
    await _expect(Items, None, ["d", "b", "c", "f", "e", "a"], order="rank ASC")
    await _expect(Items, None, ["d", "b", "c", "f", "e", "a"], order="rank")
    await _expect(Items, None, ["d", "b", "c", "f", "e", "a"], order="rank asc")
    await _expect(Items, None, ["a", "e", "c", "f", "b", "d"], order="rank DESC")
    await _expect(Items, None, ["c", "a", "b", "f", "e", "d"], order=["flag DESC", "rank ASC"])
    await _expect(Items, None, ["b", "a", "c", "d", "e", "f"], order="name")
    await _expect(Items, None, ["f", "a", "e", "d", "c", "b"], order=["note ASC", "name DESC"])
    await _expect(Items, {"flag": False}, ["e", "f", "b"], order="rank DESC")


@case
async def order_ties_stable_by_id(store):
    Items = Item.using(store)
    for id in ("m3", "m1", "m5", "m2", "m4"):
        await Items.create(id=id, rank=7 if id in ("m1", "m3", "m4") else 1)
    assert ids(await Items.find(order="rank ASC")) == ["m2", "m5", "m1", "m3", "m4"]
    assert ids(await Items.find(order="rank DESC")) == ["m1", "m3", "m4", "m2", "m5"]
    assert ids(await Items.find(order="note DESC")) == ["m1", "m2", "m3", "m4", "m5"]
    T = Todo.using(store)
    for _ in range(4):
        await T.create(title="same", order=1)
    ties = await T.find(order="order ASC")
    assert ids(ties) == sorted(ids(ties)), "ties must come back in id order"


@case
async def limit_skip_paging(store):
    Items = await seed_items(store)
    full = ids(await Items.find(order="rank ASC"))
    pages = [ids(await Items.find(order="rank ASC", limit=2, skip=s)) for s in (0, 2, 4, 6)]
    assert pages == [full[0:2], full[2:4], full[4:6], []], f"pages {pages} of {full}"
    assert ids(await Items.find(order="rank ASC", skip=4)) == full[4:], "skip without limit"
    assert ids(await Items.find(order="rank ASC", limit=0)) == []
    assert ids(await Items.find(order="rank ASC", limit=100)) == full
    found = await Items.find(where={"flag": False}, order="rank ASC", limit=2, skip=1)
    assert ids(found) == ["f", "e"]
    first = await Items.find_one(order="rank DESC")
    assert first.id == "a", f"find_one honours order: {first!r}"
    assert (await Items.find_one(where={"flag": False}, order="name DESC")).id == "f"
    assert await Items.count(where={"flag": False}) == 3, "count ignores paging"


@case
async def bad_filters_raise_filter_error(store):
    Items = await seed_items(store)
    checkpoint = await store.checkpoint()
    bad = [
        {"where": {"nope": 1}},
        {"where": {"or": [{"nope": 1}]}},
        {"where": {"name": {"regexp": "a"}}},
        {"where": {"name": {"eq": "a", "neq": "b"}}},
        {"where": {"name": {}}},
        {"where": {"and": []}},
        {"where": {"or": {"name": "a"}}},
        {"where": {"rank": {"inq": 1}}},
        {"where": {"rank": {"inq": [[1]]}}},
        {"where": {"rank": {"between": [1, 2, 3]}}},
        {"where": {"name": {"like": 5}}},
        {"where": {"name": ["a", "b"]}},
        {"where": {"name": {"eq": {"a": 1}}}},
        {"where": "name = 'a'"},
        {"limit": -1},
        {"limit": "10"},
        {"limit": True},
        {"limit": 10_000_000},
        {"skip": -1},
        {"skip": 1.5},
        {"order": "rank SIDEWAYS"},
        {"order": "nope ASC"},
        {"order": "rank ASC extra"},
        {"order": 5},
        {"order": {"rank": "ASC"}},
        {"order": ["rank ASC", 3]},
        {"order": ["rank; DROP TABLE documents"]},
    ]
    for kw in bad:
        exc = await raises(FilterError, Items.find(**kw))
        assert exc.status == 400 and exc.code == "INVALID_FILTER", exc.to_dict()
    await raises(FilterError, Items.count(where={"nope": 1}))
    await raises(FilterError, Items.find_one(order="nope"))
    assert await Items.count() == 6 and await store.checkpoint() == checkpoint
