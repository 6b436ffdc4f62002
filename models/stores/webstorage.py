"""A store in the Web Storage API (`window.localStorage` in the browser, any look-alike in tests).

Layout, under the prefix `offsync:<app>:`:
- `<model>:doc:<id>`  the document with its revision bookkeeping (one key per document);
- `chg:<checkpoint>`  points at the document written at that checkpoint (only the newest per doc);
- `seq`               the store's sequence number.
A write touches only its document's key, its new change key, the change key it replaces and `seq`
(DESIGN rule 8). If the browser refuses any of them (quota), the keys already touched are put back,
so the previous state is intact, and `StorageFullError` says so. Entries that cannot be parsed are
reported (`corrupt_keys`) and never overwritten or deleted.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from ..changes import Change, ChangeType
from ..errors import CorruptEntryError, StorageFullError
from ..filters import Query, apply
from .base import Document, Store, plan_write


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

    # ---- keys --------------------------------------------------------------------------------
    def doc_key(self, model: str, id: str) -> str:
        return f"{self.prefix}{model}:doc:{id}"

    def change_key(self, checkpoint: int) -> str:
        return f"{self.prefix}chg:{checkpoint}"

    @property
    def seq_key(self) -> str:
        return f"{self.prefix}seq"

    def keys(self) -> list[str]:
        """Every key of this app (the only full scan; queries need it, writes never do)."""
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

    # ---- reading -----------------------------------------------------------------------------
    def _parse(self, model: str, id: str, key: str, raw: str) -> Document:
        try:
            entry = json.loads(raw)
            doc = Document(
                model=model,
                id=id,
                rev=entry["rev"],
                prev=entry.get("prev"),
                checkpoint=int(entry["checkpoint"]),
                deleted=bool(entry.get("deleted", False)),
                data=entry.get("data"),
                type=ChangeType(entry.get("type", "update")),
            )
            if not isinstance(doc.rev, str) or (not doc.deleted and not isinstance(doc.data, dict)):
                raise ValueError("bad shape")
        except (ValueError, KeyError, TypeError) as exc:
            self.corrupt_keys.add(key)
            raise CorruptEntryError(
                f"local entry {key!r} cannot be read ({exc}); it was left as it is",
                {"key": key},
            ) from None
        self.corrupt_keys.discard(key)
        return doc

    async def get_any(self, model: str, id: str) -> Document | None:
        key = self.doc_key(model, id)
        raw = self.read(key)
        return None if raw is None else self._parse(model, id, key, raw)

    def _all(self, model: str) -> list[Document]:
        marker = f"{self.prefix}{model}:doc:"
        docs = []
        for key in self.keys():
            if not key.startswith(marker):
                continue
            raw = self.read(key)
            if raw is None:
                continue
            try:
                docs.append(self._parse(model, key[len(marker):], key, raw))
            except CorruptEntryError:
                continue  # reported through corrupt_keys; the rest stays usable
        return docs

    def _live(self, model: str, query: Query) -> list[Document]:
        by_id = {d.id: d for d in self._all(model) if not d.deleted}
        rows = apply(query, ((d.id, d.data) for d in by_id.values()))
        return [by_id[id] for id, _ in rows]

    async def find(self, model: str, query: Query) -> list[Document]:
        return self._live(model, query)

    async def count(self, model: str, query: Query) -> int:
        return len(self._live(model, Query(where=query.where)))

    async def checkpoint(self) -> int:
        raw = self.read(self.seq_key)
        if raw is not None and raw.isdigit():
            return int(raw)
        # Missing or damaged counter: recover it from the change keys rather than reuse numbers.
        marker = f"{self.prefix}chg:"
        found = [int(k[len(marker):]) for k in self.keys() if k.startswith(marker)
                 and k[len(marker):].isdigit()]
        return max(found, default=0)

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        out: list[Change] = []
        if limit <= 0:
            return out
        last = await self.checkpoint()
        for checkpoint in range(since + 1, last + 1):
            raw = self.read(self.change_key(checkpoint))
            if raw is None:
                continue  # superseded by a later write of the same document
            try:
                pointer = json.loads(raw)
                if pointer["model"] != model:
                    continue
                pointer_id = pointer["id"]
            except (ValueError, KeyError, TypeError):
                self.corrupt_keys.add(self.change_key(checkpoint))
                continue
            try:
                doc = await self.get_any(model, pointer_id)
            except CorruptEntryError:
                continue  # the document's key is reported in corrupt_keys by get_any
            if doc is not None and doc.checkpoint == checkpoint:
                out.append(doc.change)
                if len(out) >= limit:
                    break
        return out

    # ---- writing -----------------------------------------------------------------------------
    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        current = await self.get_any(model, id)  # raises on a corrupt entry: never overwrite it
        checkpoint = await self.checkpoint() + 1
        if self.read(self.change_key(checkpoint)) is not None:
            # The counter went backwards (damaged by hand or a crash): never reuse a checkpoint.
            self.storage.removeItem(self.seq_key)
            checkpoint = await self.checkpoint() + 1
        doc = plan_write(model, id, current, data, base_rev, checkpoint)
        entry = {
            "rev": doc.rev,
            "prev": doc.prev,
            "checkpoint": doc.checkpoint,
            "deleted": doc.deleted,
            "data": doc.data,
            "type": doc.type.value,
        }
        steps: list[tuple[str, str | None]] = [
            (self.change_key(checkpoint), json.dumps({"model": model, "id": id})),
            (self.doc_key(model, id), json.dumps(entry, ensure_ascii=False)),
            (self.seq_key, str(checkpoint)),
        ]
        if current is not None:
            steps.append((self.change_key(current.checkpoint), None))

        def growth(step: tuple[str, str | None]) -> int:
            key, value = step
            return len(value or "") - len(self.read(key) or "")

        journal: list[tuple[str, str | None]] = []
        try:
            for key, value in sorted(steps, key=growth):  # shrink first: a delete fits when full
                if value is None:
                    self._remove(journal, key)
                else:
                    self._set(journal, key, value)
        except Exception as exc:
            self._undo(journal)
            if is_quota_error(exc):
                raise StorageFullError(
                    "local storage is full: the change was not saved and nothing else was lost",
                    {"id": id, "model": model},
                ) from None
            raise
        return doc

    def _set(self, journal: list, key: str, value: str) -> None:
        journal.append((key, self.read(key)))
        self.storage.setItem(key, value)

    def _remove(self, journal: list, key: str) -> None:
        journal.append((key, self.read(key)))
        self.storage.removeItem(key)

    def _undo(self, journal: list) -> None:
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
