"""What most cases use: `raises`, a hand-moved clock, the `Item` model of the filter
cases and its rows."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from models import Boolean, Model, Number, String

REV = re.compile(r"^[1-9][0-9]*-[0-9a-f]{32}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def raises(exc_type: type[BaseException], coro: Awaitable[Any]) -> BaseException:
    """Await `coro` and return the `exc_type` it raised; fail if it raised nothing."""
    try:
        await coro
    except exc_type as exc:
        return exc
    raise AssertionError(f"expected {exc_type.__name__}, but nothing was raised")


def raises_sync(exc_type: type[BaseException], fn: Callable[..., Any], *args: Any,
                **kw: Any) -> BaseException:
    try:
        fn(*args, **kw)
    except exc_type as exc:
        return exc
    raise AssertionError(f"expected {exc_type.__name__} from {fn.__name__}, nothing was raised")


class Item(Model):
    """A small model for filter cases: every field may be null, unlike Todo's."""

    collection = "items"
    name = String()
    rank = Number()
    flag = Boolean()
    note = String()


ITEMS = [
    {"id": "a", "name": "apple", "rank": 3, "flag": True, "note": None},
    {"id": "b", "name": "Banana", "rank": 1, "flag": False, "note": "yellow"},
    {"id": "c", "name": "cherry", "rank": 2, "flag": True, "note": "red"},
    {"id": "d", "name": "date", "rank": None, "flag": None, "note": "brown"},
    {"id": "e", "name": "elder_berry", "rank": 2.5, "flag": False, "note": "100%"},
    {"id": "f", "name": "fig", "rank": 2, "flag": False, "note": None},
]


async def seed_items(store, rows=ITEMS) -> type[Item]:
    Items = Item.using(store)
    for row in reversed(rows):  # insertion order must not leak into results
        await Items.create(**row)
    return Items


def ids(objs) -> list[str]:
    return [o.id for o in objs]


class FakeClock:
    """A clock the case moves by hand, so timestamps never depend on timing."""

    def __init__(self) -> None:
        self.second = 0

    def __call__(self) -> str:
        return f"2024-01-01T00:00:{self.second:02d}.000Z"

    def tick(self) -> None:
        self.second += 1


async def edit_todo(T, id: str, **fields) -> None:
    await (await T.find_by_id(id)).update(**fields)


async def delete_todo(T, id: str) -> None:
    await (await T.find_by_id(id)).delete()
