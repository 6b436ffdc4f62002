"""A store in the Web Storage API (`window.localStorage` in the browser, any look-alike in tests).

Layout, under the prefix `offsync:<app>:`:
- `<model>:doc:<id>`       the document with its revision bookkeeping (one key per document);
- `chg:<checkpoint>`       `<model>:<id>` of the document written then (newest per doc only);
- `seq`                    the store's sequence number;
- `<model>:conflict:<id>`  the other side's revision of a document in conflict;
- `<model>:horizon`        the checkpoint through which tombstones were purged;
- `mark:<name>`            a number replication keeps: `sent` (the highest checkpoint handed to a
                           peer) and `checkpoint:<peer>:<push|pull>:<model>` (where a sync reached).
A write touches only its document's key, its new change key, the change key it replaces and `seq`
(DESIGN rule 8). If the browser refuses any of them (quota), every key the transaction touched is
put back, so the previous state is intact, and `StorageFullError` says so. Entries that cannot be
parsed are reported (`corrupt_keys`) and never overwritten or deleted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Protocol

from ..errors import CorruptEntryError, StorageFullError
from ..filters import Query, apply
from .base import Document, Store
from .codec import decode, encode


class StorageLike(Protocol):
    """What we use of the Web Storage interface."""

    length: int

    def getItem(self, key: str) -> str | None: ...
    def setItem(self, key: str, value: str) -> None: ...
    def removeItem(self, key: str) -> None: ...
    def key(self, index: int) -> str | None: ...


def is_quota_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {getattr(exc, 'name', '')} {exc}".lower()
    return "quota" in text


class WebStorageStore(Store):
    def __init__(self, storage: StorageLike, app: str = "app") -> None:
        self.storage = storage
        self.prefix = f"offsync:{app}:"
        self.corrupt_keys: set[str] = set()
        self._journal: list[tuple[str, str | None]] | None = None

    # ---- keys --------------------------------------------------------------------------------
    def doc_key(self, model: str, id: str) -> str:
        return f"{self.prefix}{model}:doc:{id}"

    def conflict_key(self, model: str, id: str) -> str:
        return f"{self.prefix}{model}:conflict:{id}"

    def change_key(self, checkpoint: int) -> str:
        return f"{self.prefix}chg:{checkpoint}"

    @property
    def seq_key(self) -> str:
        return f"{self.prefix}seq"

    def keys(self) -> list[str]:
        """Every key of this app (a full scan: queries need it, writes never do)."""
        out = []
        for i in range(self.storage.length):
            key = self.storage.key(i)
            if isinstance(key, str) and key.startswith(self.prefix):
                out.append(key)
        return out

    def read(self, key: str) -> str | None:
        """`getItem`, with the browser's `null` (not `None` under Pyodide) as None."""
        raw = self.storage.getItem(key)
        return raw if isinstance(raw, str) else None

    def _decode(self, model: str, id: str, key: str, raw: str) -> Document:
        try:
            doc = decode(model, id, raw)
        except (ValueError, KeyError, TypeError) as exc:
            self.corrupt_keys.add(key)
            raise CorruptEntryError(
                f"local entry {key!r} cannot be read ({exc}); it was left as it is",
                {"key": key},
            ) from None
        self.corrupt_keys.discard(key)
        return doc

    def _scan(self, model: str, kind: str) -> list[Document]:
        """Every readable entry of one kind (`doc` or `conflict`); damaged ones are reported."""
        marker = f"{self.prefix}{model}:{kind}:"
        docs = []
        for key in self.keys():
            if key.startswith(marker) and (raw := self.read(key)) is not None:
                try:
                    docs.append(self._decode(model, key[len(marker):], key, raw))
                except CorruptEntryError:
                    continue  # reported through corrupt_keys; the rest stays usable
        return docs

    # ---- primitives ---------------------------------------------------------------------------
    def read_doc(self, model: str, id: str) -> Document | None:
        key = self.doc_key(model, id)
        raw = self.read(key)
        return None if raw is None else self._decode(model, id, key, raw)

    def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        model = doc.model
        steps: list[tuple[str, str | None]] = []
        if new_checkpoint:
            current = self.read_doc(model, doc.id)  # raises on a corrupt entry
            checkpoint = self.last_checkpoint() + 1
            if self.read(self.change_key(checkpoint)) is not None:
                # The counter went backwards (damaged by hand or a crash): never reuse a number.
                checkpoint = self._recover_checkpoint() + 1
            doc = replace(doc, checkpoint=checkpoint)
            steps += [
                (self.change_key(checkpoint), f"{model}:{doc.id}"),
                (self.seq_key, str(checkpoint)),
            ]
            if current is not None:
                steps.append((self.change_key(current.checkpoint), None))
        steps.append((self.doc_key(model, doc.id), encode(doc)))
        self._run(steps)
        return doc

    def read_conflict(self, model: str, id: str) -> Document | None:
        key = self.conflict_key(model, id)
        raw = self.read(key)
        return None if raw is None else self._decode(model, id, key, raw)

    def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        self._run([(self.conflict_key(model, id), None if doc is None else encode(doc))])

    def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        return [(self.read_doc(model, other.id), other) for other in self._scan(model, "conflict")]

    def query_docs(self, model: str, query: Query) -> list[Document]:
        live = {doc.id: doc for doc in self._scan(model, "doc") if not doc.deleted}
        rows = apply(query, ((doc.id, doc.data) for doc in live.values()))
        return [live[id] for id, _ in rows]

    def count_docs(self, model: str, query: Query) -> int:
        return len(self.query_docs(model, Query(where=query.where)))

    def feed_docs(
        self, model: str, since: int, limit: int, owner: str | None = None
    ) -> list[Document]:
        out: list[Document] = []
        for checkpoint in range(since + 1, self.last_checkpoint() + 1):
            raw = self.read(self.change_key(checkpoint))
            if raw is None:
                continue  # superseded by a later write of the same document
            pointer_model, pointer_id = parse_pointer(raw)
            if pointer_id is None:
                self.corrupt_keys.add(self.change_key(checkpoint))
                continue
            if pointer_model != model:
                continue
            try:
                doc = self.read_doc(model, pointer_id)
            except CorruptEntryError:
                continue  # the document's key is reported in corrupt_keys
            if doc is not None and doc.checkpoint == checkpoint and (
                owner is None or doc.owner == owner
            ):
                out.append(doc)
                if len(out) >= limit:
                    break
        return out

    def last_checkpoint(self) -> int:
        raw = self.read(self.seq_key)
        return int(raw) if raw is not None and raw.isdigit() else self._recover_checkpoint()

    def _recover_checkpoint(self) -> int:
        """The highest checkpoint any change key names: a missing or damaged counter is rebuilt
        from the keys rather than allowed to hand out numbers twice."""
        marker = f"{self.prefix}chg:"
        found = [int(k[len(marker):]) for k in self.keys()
                 if k.startswith(marker) and k[len(marker):].isdigit()]
        raw = self.read(self.seq_key)
        return max([*found, int(raw) if raw is not None and raw.isdigit() else 0])

    def purge_horizon(self, model: str) -> int:
        raw = self.read(f"{self.prefix}{model}:horizon")
        return int(raw) if raw is not None and raw.isdigit() else 0

    def mark_key(self, name: str) -> str:
        return f"{self.prefix}mark:{name}"

    def read_mark(self, name: str) -> int | None:
        raw = self.read(self.mark_key(name))
        return int(raw) if raw is not None and raw.isdigit() else None

    def put_mark(self, name: str, value: int) -> None:
        self._run([(self.mark_key(name), str(value))])

    def drop_tombstones(self, model: str, through: int) -> int:
        gone = [doc for doc in self._scan(model, "doc")
                if doc.deleted and doc.checkpoint <= through]
        steps: list[tuple[str, str | None]] = []
        for doc in gone:
            steps += [(self.doc_key(model, doc.id), None), (self.change_key(doc.checkpoint), None)]
        horizon = max(self.purge_horizon(model), through)
        steps.append((f"{self.prefix}{model}:horizon", str(horizon)))
        self._run(steps)
        return len(gone)

    # ---- writing, all or nothing ----------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._journal is not None:  # nested: the outer transaction owns the undo
            yield
            return
        self._journal = []
        try:
            yield
        except Exception as exc:
            self._undo(self._journal)
            if is_quota_error(exc):
                raise StorageFullError(
                    "local storage is full: the change was not saved and nothing else was lost",
                ) from None
            raise
        finally:
            self._journal = None

    def _run(self, steps: list[tuple[str, str | None]]) -> None:
        """Set (or, for None, remove) keys; steps that free room go first, so a delete still
        fits in a full storage. Outside a transaction, one step list is its own transaction."""
        now: dict[str, str | None] = {}  # each key read once (getItem crosses into JS)
        for key, _ in steps:
            if key not in now:
                now[key] = self.read(key)

        def growth(step: tuple[str, str | None]) -> int:
            key, value = step
            return len(value or "") - len(now[key] or "")

        with self.transaction():
            assert self._journal is not None
            for key, value in sorted(steps, key=growth):
                self._journal.append((key, now[key]))
                if value is None:
                    self.storage.removeItem(key)
                else:
                    self.storage.setItem(key, value)
                now[key] = value

    def _undo(self, journal: list[tuple[str, str | None]]) -> None:
        """Put every touched key back. Shrinking steps go first, so undoing never needs room."""
        first: dict[str, str | None] = {}
        for key, old in journal:
            first.setdefault(key, old)

        def growth(item: tuple[str, str | None]) -> int:
            key, old = item
            return len(old or "") - len(self.read(key) or "")

        for key, old in sorted(first.items(), key=growth):
            if old is None:
                self.storage.removeItem(key)
            else:
                self.storage.setItem(key, old)


class DictStorage:
    """A Web Storage look-alike over a dict, with an optional quota in characters like browsers."""

    def __init__(self, quota: int | None = None) -> None:
        self._items: dict[str, str] = {}
        self.quota = quota

    @property
    def length(self) -> int:
        return len(self._items)

    def key(self, index: int) -> str | None:
        keys = list(self._items)
        return keys[index] if 0 <= index < len(keys) else None

    def getItem(self, key: str) -> str | None:
        return self._items.get(key)

    def setItem(self, key: str, value: Any) -> None:
        value = str(value)
        if self.quota is not None:
            used = sum(len(k) + len(v) for k, v in self._items.items() if k != key)
            if used + len(key) + len(value) > self.quota:
                raise QuotaExceededError("QuotaExceededError: the quota has been exceeded")
        self._items[key] = value

    def removeItem(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class QuotaExceededError(Exception):
    """What `DictStorage` raises when full, named like the browser's DOMException."""


def parse_pointer(raw: str) -> tuple[str | None, str | None]:
    """The model and id a change key points at (`todos:<id>`, or the JSON object earlier versions
    wrote); (None, None) when it is neither."""
    if raw.startswith("{"):
        try:
            pointer = json.loads(raw)
            model, id = pointer["model"], pointer["id"]
        except (ValueError, KeyError, TypeError):
            return None, None
        return (model, id) if isinstance(model, str) and isinstance(id, str) else (None, None)
    model, sep, id = raw.partition(":")
    return (model, id) if sep and model and id else (None, None)
