"""The page's own copy of the user's todos, kept in list order and updated from what changed.

Reading 10,000 todos from localStorage on every change is what made the page slow; the page
reads them once, then applies only the documents the store's feed says changed (a write here,
another tab's, or a pull). Counts are kept as documents come and go, and the rows to show are
taken from the copy, never from the store. Pure Python: no `js`, so it is tested on CPython too.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable
from typing import Any

FILTERS = {"all": None, "active": False, "completed": True}  # the `completed` each one shows


def _rank(value: Any) -> tuple[int, Any]:
    """The store's ordering (models/filters.py): null, then numbers, then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, (bool, int, float)):
        return (1, int(value) if isinstance(value, bool) else value)
    return (2, str(value))


def sort_key(id: str, data: dict) -> tuple:
    """`order ASC, created_at ASC`, then id: the order the page always listed todos in."""
    return (_rank(data.get("order")), _rank(data.get("created_at")), id)


class TodoList:
    """Live todos by id (the stored `Document`s), their order, and how many are done."""

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}
        self._keys: list[tuple] = []  # sort keys, in order
        self._key_of: dict[str, tuple] = {}
        self.completed = 0

    def __len__(self) -> int:
        return len(self.docs)

    @property
    def left(self) -> int:
        return len(self.docs) - self.completed

    def reset(self, docs: Iterable) -> None:
        self.docs, self._keys, self._key_of, self.completed = {}, [], {}, 0
        for doc in docs:
            self._add(doc)
        self._keys.sort()

    def apply(self, docs: Iterable) -> set[str]:
        """Take in changed documents (tombstones remove); return the ids whose row changed."""
        changed = set()
        for doc in docs:
            old = self.docs.get(doc.id)
            if old is not None and old.rev == doc.rev and not doc.deleted:
                continue
            if old is not None:
                self._remove(doc.id)
            if not doc.deleted:
                self._add(doc, keep_sorted=True)
            if old is not None or not doc.deleted:
                changed.add(doc.id)
        return changed

    def _add(self, doc, keep_sorted: bool = False) -> None:
        data = doc.data or {}
        key = sort_key(doc.id, data)
        self.docs[doc.id] = doc
        self._key_of[doc.id] = key
        if keep_sorted:
            insort(self._keys, key)
        else:
            self._keys.append(key)
        self.completed += bool(data.get("completed"))

    def _remove(self, id: str) -> None:
        doc = self.docs.pop(id)
        key = self._key_of.pop(id)
        del self._keys[bisect_left(self._keys, key)]
        self.completed -= bool((doc.data or {}).get("completed"))

    # ---- what to show -------------------------------------------------------------------------
    def matches(self, id: str, filter_name: str) -> bool:
        wanted = FILTERS[filter_name]
        doc = self.docs.get(id)
        return doc is not None and (wanted is None
                                    or bool((doc.data or {}).get("completed")) == wanted)

    def shown_count(self, filter_name: str) -> int:
        wanted = FILTERS[filter_name]
        return len(self.docs) if wanted is None else (self.completed if wanted else self.left)

    def first(self, filter_name: str, limit: int) -> list[str]:
        """The ids of the first `limit` todos the filter shows, in order."""
        if limit <= 0:
            return []
        if FILTERS[filter_name] is None:
            return [key[-1] for key in self._keys[:limit]]
        out = []
        for key in self._keys:
            if self.matches(key[-1], filter_name):
                out.append(key[-1])
                if len(out) >= limit:
                    break
        return out

    def in_order(self, ids: Iterable[str]) -> list[str]:
        return sorted((id for id in ids if id in self.docs), key=self._key_of.__getitem__)
