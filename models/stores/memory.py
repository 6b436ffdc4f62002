"""A store in a dict: the reference implementation, and the fastest one for tests."""

from __future__ import annotations

import json
from dataclasses import replace

from ..changes import Change
from ..filters import Query, apply
from .base import Document, Store, plan_write


class MemoryStore(Store):
    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], Document] = {}
        self._seq = 0

    async def get_any(self, model: str, id: str) -> Document | None:
        return _copy(self._docs.get((model, id)))

    def _live(self, model: str, query: Query) -> list[Document]:
        rows = [(d.id, d.data) for (m, _), d in self._docs.items() if m == model and not d.deleted]
        return [_copy(self._docs[(model, id)]) for id, _ in apply(query, rows)]

    async def find(self, model: str, query: Query) -> list[Document]:
        return self._live(model, query)

    async def count(self, model: str, query: Query) -> int:
        return len(self._live(model, Query(where=query.where)))

    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        data = None if data is None else json.loads(json.dumps(data))  # own copy, JSON like the others
        doc = plan_write(model, id, self._docs.get((model, id)), data, base_rev, self._seq + 1)
        self._seq += 1
        self._docs[(model, id)] = doc
        return _copy(doc)

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        if limit <= 0:
            return []
        docs = sorted(
            (d for (m, _), d in self._docs.items() if m == model and d.checkpoint > since),
            key=lambda d: d.checkpoint,
        )
        return [d.change for d in docs[:limit]]

    async def checkpoint(self) -> int:
        return self._seq


def _copy(doc: Document | None) -> Document | None:
    """Callers get their own dicts: changing one never changes the store (as in every other store)."""
    return doc if doc is None or doc.data is None else replace(doc, data=json.loads(json.dumps(doc.data)))
