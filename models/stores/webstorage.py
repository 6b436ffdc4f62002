"""A store in the Web Storage API (`window.localStorage` in the browser, any look-alike in tests).

Layout, under the prefix `offsync:<app>:`:
- `<model>:doc:<id>`       the document with its revision bookkeeping (one key per document);
- `chg:<checkpoint>`       `<model>:<id>` of the document written then (newest per doc only);
- `seq`                    the store's sequence number;
- `<model>:conflict:<id>`  the other side's revision of a document in conflict;
- `<model>:horizon`        the checkpoint through which tombstones were purged;
- `mark:<name>`            a number replication keeps: `sent` (the highest checkpoint handed to a
                           peer) and `checkpoint:<peer>:<push|pull>:<model>` (where a sync reached);
- `journal`                what a transaction in progress is replacing (see below).
A write touches only its document's key, its new change key, the change key it replaces and `seq`
(rule 8 in docs/ARCHITECTURE.md). If the browser refuses any of them (quota), every key the
transaction touched is put back, so the previous state is intact, and `StorageFullError` says so.
Entries that cannot be parsed are reported (`corrupt_keys`) and never overwritten or deleted.

A tab can close between two `setItem` calls of one save, and then no undo runs. So a transaction
is all or nothing across restarts too: its writes are kept in memory until it ends, then the old
values of every key it changes go into the `journal` key in one `setItem` (`{key without the
prefix: old value or null}`: only what is overwritten, so a create journals almost nothing), the
keys are written, and the journal is removed. A store that opens and finds a journal puts those
old values back and removes it: the interrupted transaction did not happen, and every change it
would have replaced is still there to sync. A transaction that changes one key needs no journal
(one `setItem` is atomic), and one that finds the storage too full for its journal is written
without it, all or nothing while the page lives, as before.
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
        self._pending: dict[str, str | None] | None = None  # a transaction's writes, in order
        self._roll_back_interrupted()

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

    @property
    def journal_key(self) -> str:
        return f"{self.prefix}journal"

    def keys(self) -> list[str]:
        """Every key of this app (a full scan: queries need it, writes never do)."""
        out = []
        for i in range(self.storage.length):
            key = self.storage.key(i)
            if isinstance(key, str) and key.startswith(self.prefix):
                out.append(key)
        if self._pending:  # what the transaction in progress has written so far
            out = [k for k in out if self._pending.get(k, "") is not None]
            out += [k for k, v in self._pending.items() if v is not None and k not in out]
        return out

    def read(self, key: str) -> str | None:
        """`getItem` (seeing the transaction in progress), with the browser's `null` (not `None`
        under Pyodide) as None."""
        if self._pending is not None and key in self._pending:
            return self._pending[key]
        return self._stored(key)

    def _stored(self, key: str) -> str | None:
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
        if self._pending is not None:  # nested: the outer transaction writes everything
            yield
            return
        self._pending = {}
        try:
            yield
            pending = self._pending
        finally:
            self._pending = None  # an exception inside: nothing was written at all
        self._commit(pending)

    def _run(self, steps: list[tuple[str, str | None]]) -> None:
        """Set (or, for None, remove) keys, as part of the transaction in progress; outside one,
        one step list is its own transaction."""
        if self._pending is None:
            with self.transaction():
                self._run(steps)
            return
        for key, value in steps:
            self._pending.pop(key, None)  # keep the order of the last write of each key
            self._pending[key] = value

    def _commit(self, pending: dict[str, str | None]) -> None:
        """Write a transaction's keys: journal first, shrinking steps first (so a delete still
        fits in a full storage); on a refusal, put every key back."""
        old = {key: self._stored(key) for key in pending}  # each key read once (crosses into JS)
        changes = {key: value for key, value in pending.items() if old[key] != value}
        if not changes:
            return
        journaled = False
        if len(changes) > 1:
            cut = len(self.prefix)
            try:
                self.storage.setItem(self.journal_key, json.dumps(
                    {key[cut:]: old[key] for key in changes}, ensure_ascii=False,
                    separators=(",", ":")))
                journaled = True
            except Exception as exc:
                if not is_quota_error(exc):
                    raise  # too full for the journal: written without it (module doc)

        def growth(step: tuple[str, str | None]) -> int:
            key, value = step
            return len(value or "") - len(old[key] or "")

        try:
            for key, value in sorted(changes.items(), key=growth):
                if value is None:
                    self.storage.removeItem(key)
                else:
                    self.storage.setItem(key, value)
        except Exception as exc:
            self._put_back({key: old[key] for key in changes})
            if journaled:
                self.storage.removeItem(self.journal_key)
            if is_quota_error(exc):
                raise StorageFullError(
                    "local storage is full: the change was not saved and nothing else was lost",
                ) from None
            raise
        if journaled:
            self.storage.removeItem(self.journal_key)

    def _put_back(self, old: dict[str, str | None]) -> None:
        """Give keys their old values. Shrinking steps go first, so undoing never needs room."""

        def growth(item: tuple[str, str | None]) -> int:
            key, value = item
            return len(value or "") - len(self._stored(key) or "")

        for key, value in sorted(old.items(), key=growth):
            if value is None:
                self.storage.removeItem(key)
            else:
                self.storage.setItem(key, value)

    def _roll_back_interrupted(self) -> None:
        """A journal left behind is a transaction the tab did not finish: undo what it wrote."""
        raw = self._stored(self.journal_key)
        if raw is None:
            return
        try:
            entries = json.loads(raw)
            if not isinstance(entries, dict) or not all(
                    isinstance(v, str) or v is None for v in entries.values()):
                raise ValueError("not a journal")
        except ValueError:
            self.corrupt_keys.add(self.journal_key)  # reported, left as it is
            return
        self._put_back({self.prefix + key: value for key, value in entries.items()})
        self.storage.removeItem(self.journal_key)


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
