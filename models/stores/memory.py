"""A store in dicts: the reference implementation, and the fastest one for tests.

Documents are kept as JSON text, like every other store, so callers always get their own copies
and a transaction can be undone by putting the old text back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

from ..filters import Query, apply
from .base import Document, Store
from .codec import decode, encode

_GONE = object()


class MemoryStore(Store):
    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], str] = {}
        self._by_checkpoint: dict[int, tuple[str, str]] = {}
        self._conflicts: dict[tuple[str, str], str] = {}
        self._meta: dict[str, int] = {"seq": 0}
        self._journal: list | None = None

    # ---- primitives ---------------------------------------------------------------------------
    def read_doc(self, model: str, id: str) -> Document | None:
        raw = self._docs.get((model, id))
        return None if raw is None else decode(model, id, raw)

    def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        key = (doc.model, doc.id)
        old = self.read_doc(*key)
        if new_checkpoint:
            doc = replace(doc, checkpoint=self._meta["seq"] + 1)
        self._set(self._meta, "seq", max(self._meta["seq"], doc.checkpoint))
        if old is not None and old.checkpoint != doc.checkpoint:
            self._set(self._by_checkpoint, old.checkpoint, _GONE)
        self._set(self._by_checkpoint, doc.checkpoint, key)
        self._set(self._docs, key, encode(doc))
        return decode(doc.model, doc.id, self._docs[key])

    def read_conflict(self, model: str, id: str) -> Document | None:
        raw = self._conflicts.get((model, id))
        return None if raw is None else decode(model, id, raw)

    def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        self._set(self._conflicts, (model, id), _GONE if doc is None else encode(doc))

    def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        return [(self.read_doc(m, id), decode(m, id, raw))
                for (m, id), raw in sorted(self._conflicts.items()) if m == model]

    def query_docs(self, model: str, query: Query) -> list[Document]:
        live = {id: doc for (m, id), raw in self._docs.items() if m == model
                and not (doc := decode(m, id, raw)).deleted}
        return [live[id] for id, _ in apply(query, ((id, d.data) for id, d in live.items()))]

    def count_docs(self, model: str, query: Query) -> int:
        return len(self.query_docs(model, Query(where=query.where)))

    def feed_docs(
        self, model: str, since: int, limit: int, owner: str | None = None
    ) -> list[Document]:
        out: list[Document] = []
        for checkpoint in sorted(c for c in self._by_checkpoint if c > since):
            m, id = self._by_checkpoint[checkpoint]
            doc = self.read_doc(m, id) if m == model else None
            if doc is not None and (owner is None or doc.owner == owner):
                out.append(doc)
                if len(out) >= limit:
                    break
        return out

    def last_checkpoint(self) -> int:
        return self._meta["seq"]

    def purge_horizon(self, model: str) -> int:
        return self._meta.get(f"horizon:{model}", 0)

    def read_mark(self, name: str) -> int | None:
        return self._meta.get(f"mark:{name}")

    def put_mark(self, name: str, value: int) -> None:
        self._set(self._meta, f"mark:{name}", value)

    def drop_tombstones(self, model: str, through: int) -> int:
        gone = [doc for key, raw in list(self._docs.items()) if key[0] == model
                and (doc := decode(*key, raw)).deleted and doc.checkpoint <= through]
        for doc in gone:
            self._set(self._docs, (model, doc.id), _GONE)
            self._set(self._by_checkpoint, doc.checkpoint, _GONE)
        self._set(self._meta, f"horizon:{model}", max(self.purge_horizon(model), through))
        return len(gone)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._journal is not None:  # nested: the outer transaction owns the undo
            yield
            return
        self._journal = []
        try:
            yield
        except BaseException:
            for mapping, key, old in reversed(self._journal):
                if old is _GONE:
                    mapping.pop(key, None)
                else:
                    mapping[key] = old
            raise
        finally:
            self._journal = None

    def _set(self, mapping: dict, key: object, value: object) -> None:
        """Change one entry (`_GONE` removes it), remembering the old value for an undo."""
        if self._journal is not None:
            self._journal.append((mapping, key, mapping.get(key, _GONE)))
        if value is _GONE:
            mapping.pop(key, None)
        else:
            mapping[key] = value
