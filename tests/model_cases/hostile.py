"""Hostile values and query shapes: the same limits the server applies
(`tests/test_hostile_input.py`), refused by the model whatever the store."""

from __future__ import annotations

import json

from models import FilterError, Todo, ValidationError

from .helpers import ids, raises, seed_items
from .registry import case


@case
async def hostile_values_no_store_can_hold_are_refused(store):
    """Lone surrogates, U+0000 (PostgreSQL's text cannot hold it), integers past 64 bits,
    infinities, dates past year 9999 in UTC and ids with a trailing newline are refused by the
    model, whatever the store; nothing is written."""
    T = Todo.using(store).as_user("u1")
    for values in ({"title": "a\ud800"}, {"title": "nul \x00 inside"},
                   {"title": "ok", "order": 2**63},
                   {"title": "ok", "order": float("inf")},
                   {"title": "ok", "created_at": "9999-12-31T23:59:59-14:00"},
                   {"title": "ok", "id": "abc\n"}):
        error = await raises(ValidationError, T.create(**values))
        json.dumps(error.to_dict(), ensure_ascii=True)  # still reportable
    assert await T.count() == 0, "a refused value was written"
    made = await T.create(title="smile \U0001f600", order=2**63 - 1,
                          created_at="0001-01-01T00:00:00Z")
    assert made.created_at == "0001-01-01T00:00:00.000Z", made.created_at


@case
async def hostile_query_shapes_past_the_limits_are_refused(store):
    """and/or nested past 16, more than 32 order terms, a skip past 2^63-1 and a lone surrogate
    in a filter value are FilterErrors before any store runs them; at the limit, queries run."""
    Items = await seed_items(store)
    where: dict = {"name": "apple"}
    for _ in range(16):
        where = {"and": [where]}
    assert ids(await Items.find(where=where)) == ["a"]
    for bad in ({"where": {"or": [where]}}, {"order": ["name ASC"] * 33}, {"skip": 2**63},
                {"where": {"name": "\udfff"}}, {"where": {"rank": {"gt": 10**19}}}):
        await raises(FilterError, Items.find(**bad))
