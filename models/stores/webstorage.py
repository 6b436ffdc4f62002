"""A store in the Web Storage API (`window.localStorage` in the browser, any look-alike in tests).

It is the key-value core (`keyvalue.py`, which documents the key layout) under the app's short
prefix (`namespace.py`: `o` + 4 characters of a hash of the app's name), over a key space that
writes to Web Storage. Entries the earlier layout kept under `offsync:<app>:` are moved in when
the store is opened (`relayout.py`), before anything reads them. What that adds is surviving the
browser: if it refuses a key (quota), every key the transaction touched is put back, so the
previous state is intact, and `StorageFullError` says so.

A tab can close between two `setItem` calls of one save, and then no undo runs. So a commit is
all or nothing across restarts too: the old values of every key it changes go into the `journal`
key in one `setItem` (`{key without the prefix: old value or null}`: only what is overwritten, so
a create journals almost nothing), the keys are written, and the journal is removed. A store that
opens and finds a journal puts those old values back and removes it: the interrupted transaction
did not happen, and every change it would have replaced is still there to sync. A commit that
changes one key needs no journal (one `setItem` is atomic), and one that finds the storage too
full for its journal is written without it, all or nothing while the page lives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from ..errors import StorageFullError
from . import namespace
from .keyvalue import KeyValueAdapter, parse_pointer
from .local import LocalStore
from .relayout import legacy_keys, move_legacy


class StorageLike(Protocol):
    """What we use of the Web Storage interface."""

    length: int

    def getItem(self, key: str) -> str | None: ...
    def setItem(self, key: str, value: str) -> None: ...
    def removeItem(self, key: str) -> None: ...
    def key(self, index: int) -> str | None: ...


class StorageBatch(Protocol):
    """Many Web Storage calls made as one: in the browser, one call from Pyodide to JavaScript
    for a whole transaction (web/app/storage_bridge.py) instead of one per key."""

    def get_many(self, keys: list[str]) -> list[str | None]:
        """`getItem` of each key."""
        ...

    def write_many(self, steps: list[tuple[str, str | None]]) -> tuple[int, Exception | None]:
        """`setItem` (or, for None, `removeItem`) of each step in order, stopping at the first
        the storage refuses: how many were done, and what refused the next (None: all done)."""
        ...


class KeyByKey:
    """`StorageBatch` over any `StorageLike`, one call per key (a dict, a test's storage)."""

    def __init__(self, storage: StorageLike) -> None:
        self.storage = storage

    def get_many(self, keys: list[str]) -> list[str | None]:
        out = []
        for key in keys:
            raw = self.storage.getItem(key)
            out.append(raw if isinstance(raw, str) else None)
        return out

    def write_many(self, steps: list[tuple[str, str | None]]) -> tuple[int, Exception | None]:
        for done, (key, value) in enumerate(steps):
            try:
                if value is None:
                    self.storage.removeItem(key)
                else:
                    self.storage.setItem(key, value)
            except Exception as exc:  # noqa: BLE001 - handed back, as the browser's bridge does
                return done, exc
        return len(steps), None


def is_quota_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {getattr(exc, 'name', '')} {exc}".lower()
    return "quota" in text


class WebStorageSpace:
    """The key space of one app in a Web Storage object, with the journal of the module doc."""

    def __init__(self, storage: StorageLike, prefix: str,
                 batch: StorageBatch | None = None) -> None:
        self.storage = storage
        self.batch = batch if batch is not None else KeyByKey(storage)
        self.journal_key = f"{prefix}journal"
        self.prefix = prefix
        self.corrupt_journal = False

    def get(self, key: str) -> str | None:
        """`getItem`, with the browser's `null` (not `None` under Pyodide) as None."""
        raw = self.storage.getItem(key)
        return raw if isinstance(raw, str) else None

    def get_many(self, keys: list[str]) -> list[str | None]:
        return self.batch.get_many(keys)

    def names(self) -> Iterator[str]:
        for i in range(self.storage.length):
            key = self.storage.key(i)
            if isinstance(key, str) and key.startswith(self.prefix):
                yield key

    def commit(self, pending: dict[str, str | None]) -> None:
        """Journal first, shrinking steps first (so a delete still fits in a full storage); on a
        refusal, put every key already written back. Three calls to the storage's batch
        whatever the size: read the old values, write the journal, write the keys and remove
        the journal."""
        keys = list(pending)
        old = dict(zip(keys, self.batch.get_many(keys), strict=True))
        changes = {key: value for key, value in pending.items() if old[key] != value}
        if not changes:
            return
        journaled = False
        if len(changes) > 1:
            cut = len(self.prefix)
            done, exc = self.batch.write_many([(self.journal_key, json.dumps(
                {key[cut:]: old[key] for key in changes}, ensure_ascii=False,
                separators=(",", ":")))])
            if exc is not None and not is_quota_error(exc):
                raise exc  # too full for the journal: written without it (module doc)
            journaled = exc is None

        def growth(step: tuple[str, str | None]) -> int:
            key, value = step
            return len(value or "") - len(old[key] or "")

        steps = sorted(changes.items(), key=growth)
        done, exc = self.batch.write_many(
            steps + ([(self.journal_key, None)] if journaled else []))
        if exc is None:
            return
        written = steps[:done + 1]  # the refused one too, in case it was half done; the rest
        # still hold their old values

        def shrink(step: tuple[str, str | None]) -> int:
            key, value = step
            return len(old[key] or "") - len(value or "")

        undo = [(key, old[key]) for key, value in sorted(written, key=shrink)]
        _, failed = self.batch.write_many(undo + ([(self.journal_key, None)] if journaled
                                                  else []))
        if failed is not None:
            raise failed
        if is_quota_error(exc):
            raise StorageFullError(
                "local storage is full: the change was not saved and nothing else was lost",
            ) from None
        raise exc

    def _put_back(self, old: dict[str, str | None]) -> None:
        """Give keys their old values. Shrinking steps go first, so undoing never needs room."""

        def growth(item: tuple[str, str | None]) -> int:
            key, value = item
            return len(value or "") - len(self.get(key) or "")

        for key, value in sorted(old.items(), key=growth):
            if value is None:
                self.storage.removeItem(key)
            else:
                self.storage.setItem(key, value)

    def roll_back_interrupted(self) -> None:
        """A journal left behind is a transaction the tab did not finish: undo what it wrote."""
        raw = self.get(self.journal_key)
        if raw is None:
            return
        try:
            entries = json.loads(raw)
            if not isinstance(entries, dict) or not all(
                    isinstance(v, str) or v is None for v in entries.values()):
                raise ValueError("not a journal")
        except ValueError:
            self.corrupt_journal = True  # reported, left as it is
            return
        self._put_back({self.prefix + key: value for key, value in entries.items()})
        self.storage.removeItem(self.journal_key)


class WebStorageStore(LocalStore):
    """The browser's local store. `storage`, `prefix`, the key names and `corrupt_keys` are
    there for the debug page, which shows the raw entries."""

    adapter: KeyValueAdapter

    def __init__(self, storage: StorageLike, app: str = "app",
                 batch: StorageBatch | None = None) -> None:
        prefix, record = namespace.resolve(storage, app)
        space = WebStorageSpace(storage, prefix, batch)
        space.roll_back_interrupted()
        super().__init__(KeyValueAdapter(space, prefix))
        self.storage = storage
        self.app = app
        self.prefix = prefix
        self.journal_key = space.journal_key
        self.moved = 0  # documents and conflicts moved in from the earlier layout on this open
        if record is None or record.get("moving"):
            self._move_in()
        if space.corrupt_journal:
            self.corrupt_keys.add(space.journal_key)

    def _move_in(self) -> None:
        """Claim the namespace, moving in what the earlier layout holds (`relayout.py`)."""
        old = namespace.LEGACY.format(app=self.app)
        WebStorageSpace(self.storage, old).roll_back_interrupted()
        keys = legacy_keys(self.storage, old)
        claim = self.prefix + namespace.CLAIM
        try:
            if keys:
                self.storage.setItem(claim, namespace.claim_text(self.app, moving=True))
                self.moved = move_legacy(self.storage, old, self.adapter, keys, is_quota_error)
            self.storage.setItem(claim, namespace.claim_text(self.app))
        except Exception as exc:
            if not is_quota_error(exc):
                raise
            if keys:  # the move is not finished: every old key is still where it was
                raise StorageFullError(
                    "local storage is full: the saved data could not be moved to the compact "
                    "layout; nothing was lost, and the next start tries again") from None
            # a new namespace in a full storage: claimed at the next open

    @property
    def corrupt_keys(self) -> set[str]:
        return self.adapter.corrupt_keys

    @property
    def seq_key(self) -> str:
        return self.adapter.seq_key

    def doc_key(self, model: str, id: str) -> str:
        return self.adapter.doc_key(model, id)

    def conflict_key(self, model: str, id: str) -> str:
        return self.adapter.conflict_key(model, id)

    def change_key(self, checkpoint: int) -> str:
        return self.adapter.change_key(checkpoint)

    def mark_key(self, name: str) -> str:
        return self.adapter.mark_key(name)

    def keys(self) -> list[str]:
        return self.adapter.keys()

    def explain(self, key: str, raw: str) -> tuple[str, object]:
        """A key and its value as a person reads them (`KeyValueAdapter.explain`)."""
        return self.adapter.explain(key, raw)

    def entry(self, model: str, id: str) -> dict | None:
        """A document's stored entry spelled out (`compact.readable`), None when there is none."""
        key = self.doc_key(model, id)
        raw = self.storage.getItem(key)
        return self.adapter.explain(key, raw)[1] if isinstance(raw, str) else None  # type: ignore[return-value]


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


__all__ = ["DictStorage", "KeyByKey", "QuotaExceededError", "StorageBatch", "StorageLike",
           "WebStorageStore", "is_quota_error", "parse_pointer"]
