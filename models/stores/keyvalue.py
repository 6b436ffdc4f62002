"""The key-value core: documents in a flat map of text keys to text values.

The memory store (a dict) and the Web Storage store (`localStorage`) are the same adapter over
two key spaces; only how a transaction's keys are finally written differs (`KeySpace.commit`).
Layout, under a prefix (a short namespace in Web Storage, `namespace.py`), short because
localStorage holds about 5 M characters and every document has two keys:
- `<model>:<id>`     the document with its revision bookkeeping (one key per document, in the
                     compact entry format of `compact.py`; a 32-hex id packed to 10 characters,
                     `packing.pack_id`);
- `#<checkpoint>`    (base 36) `<model>:<id>` of the document written then (newest per doc
                     only), so a feed walks checkpoints, not documents;
- `#`                the sequence number;
- `<model>!<id>`     the other side's revision of a document in conflict;
- `&<shape>`         a field shape entries refer to (`compact.FieldShape`), written with the
                     first entry in it and never changed (its name is a hash of its content);
- `=<name>`          a number `LocalStore` keeps: `sent`, `checkpoint:<peer>:<push|pull>:
                     <model>` (where a sync reached), `horizon:<model>` (tombstone purge),
                     `version:<model>`, `migrating:<model>`, `database`.
A write touches only its document's key, its new change key, the change key it replaces and `#`
(rule 8 in docs/ARCHITECTURE.md), and a shape the first time one is used. A transaction's writes
are kept in memory until it ends and are then handed to the key space in one `commit`, so a
failed transaction wrote nothing. Entries that cannot be parsed are reported (`corrupt_keys`) and
never overwritten or deleted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import Protocol

from ..document import Document
from ..errors import CorruptEntryError
from ..filters import Query, apply
from .adapter import Adapter, Owners, Transaction, owner_tuple
from .compact import FieldShape, body_of, decode, encode, readable, shape_of
from .packing import pack_checkpoint, pack_id, unpack_checkpoint, unpack_id

FEED_CHUNK = 2000  # change keys a feed reads in one go


class KeySpace(Protocol):
    """Where the keys live."""

    def get(self, key: str) -> str | None: ...
    def get_many(self, keys: list[str]) -> list[str | None]:
        """`get` of each key, in one go (one call to the browser for Web Storage)."""
        ...
    def names(self) -> Iterable[str]: ...
    def commit(self, changes: dict[str, str | None]) -> None:
        """Set each key (None removes it), all or nothing; raise if nothing could be written."""


class DictSpace:
    """Keys in a dict: nothing can refuse a write, so a commit is a plain update."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.items.get(key)

    def get_many(self, keys: list[str]) -> list[str | None]:
        return [self.items.get(key) for key in keys]

    def names(self) -> Iterable[str]:
        return self.items

    def commit(self, changes: dict[str, str | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.items.pop(key, None)
            else:
                self.items[key] = value


class KeyValueAdapter(Adapter, Transaction):
    """The adapter over a key space; it is its own transaction (one writer at a time)."""

    def __init__(self, space: KeySpace, prefix: str = "") -> None:
        self.space = space
        self.prefix = prefix
        self.corrupt_keys: set[str] = set()
        self._pending: dict[str, str | None] | None = None  # a transaction's writes, in order
        self._shapes: dict[str, FieldShape] = {}  # shapes read or written (never change)
        self._checked: set[str] = set()  # shapes seen stored in the transaction in progress
        self._ahead: dict[str, str | None] = {}  # read at once in a transaction (prepare_writes)
        self._last_read: tuple[str, str, Document] | None = None  # key, entry, document

    # ---- keys --------------------------------------------------------------------------------
    def doc_key(self, model: str, id: str) -> str:
        return f"{self.prefix}{model}:{pack_id(id)}"

    def conflict_key(self, model: str, id: str) -> str:
        return f"{self.prefix}{model}!{pack_id(id)}"

    def change_key(self, checkpoint: int) -> str:
        return f"{self.prefix}#{pack_checkpoint(checkpoint)}"

    def mark_key(self, name: str) -> str:
        return f"{self.prefix}={name}"

    def pointer(self, model: str, id: str) -> str:
        """What a change key holds: the document written then."""
        return f"{model}:{pack_id(id)}"

    def shape_key(self, shape: str) -> str:
        return f"{self.prefix}&{shape}"

    @property
    def seq_key(self) -> str:
        return f"{self.prefix}#"

    def keys(self) -> list[str]:
        """Every key under the prefix (a full scan: queries need it, writes never do)."""
        out = [k for k in self.space.names() if isinstance(k, str) and k.startswith(self.prefix)]
        if self._pending:  # what the transaction in progress has written so far
            out = [k for k in out if self._pending.get(k, "") is not None]
            known = set(out)
            out += [k for k, v in self._pending.items() if v is not None and k not in known]
        return out

    def read(self, key: str) -> str | None:
        """The value, as the transaction in progress sees it."""
        if self._pending is not None:
            if key in self._pending:
                return self._pending[key]
            if key in self._ahead:
                return self._ahead[key]
        raw = self.space.get(key)
        return raw if isinstance(raw, str) else None

    def read_many(self, keys: list[str]) -> list[str | None]:
        """`read` of each key, the ones the transaction does not know asked for in one go."""
        out: list[str | None] = [None] * len(keys)
        asked: list[int] = []
        pending, ahead = self._pending, self._ahead
        for i, key in enumerate(keys):
            if pending is not None and key in pending:
                out[i] = pending[key]
            elif pending is not None and key in ahead:
                out[i] = ahead[key]
            else:
                asked.append(i)
        if asked:
            for i, raw in zip(asked, self.space.get_many([keys[i] for i in asked]), strict=True):
                out[i] = raw if isinstance(raw, str) else None
        return out

    def _shape(self, shape: str) -> FieldShape | None:
        """The stored shape of that name; None when it is missing or damaged (reported)."""
        found = self._shapes.get(shape)
        if found is None:
            key = self.shape_key(shape)
            raw = self.read(key)
            if raw is None:
                return None
            try:
                found = FieldShape.parse(raw)
                if found.id != shape:
                    raise ValueError("not the shape its key names")
            except (ValueError, TypeError):
                self.corrupt_keys.add(key)
                return None
            self._shapes[shape] = found
        return found

    def entry_steps(self, doc: Document, kind: str = "doc") -> list[tuple[str, str | None]]:
        """The steps that store the entry: its body in a shape when one can be stored (written
        with it the first time)."""
        body = body_of(doc)
        shape = None
        steps: list[tuple[str, str | None]] = []
        if isinstance(body, dict) and not doc.deleted:
            shape = shape_of(body, doc.owner)
            name = shape.id
            if name not in self._checked:
                key = self.shape_key(name)
                raw = self.read(key)
                if raw is None:
                    steps.append((key, shape.text))
                elif raw != shape.text:
                    shape = None  # that name holds something else: the body goes as an object
                if shape is not None and self._pending is not None:
                    self._checked.add(name)
        return steps + [(self.doc_key(doc.model, doc.id) if kind == "doc" else
                         self.conflict_key(doc.model, doc.id), encode(doc, shape))]

    def _decode(self, model: str, id: str, key: str, raw: str) -> Document:
        try:
            doc = decode(model, id, raw, self._shape)
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
        marker = f"{self.prefix}{model}{':' if kind == 'doc' else '!'}"
        docs = []
        for key in self.keys():
            if key.startswith(marker) and (raw := self.read(key)) is not None:
                try:
                    docs.append(self._decode(model, unpack_id(key[len(marker):]), key, raw))
                except CorruptEntryError:
                    continue  # reported through corrupt_keys; the rest stays usable
        return docs

    def _doc(self, model: str, id: str) -> Document | None:
        key = self.doc_key(model, id)
        raw = self.read(key)
        return None if raw is None else self._decode(model, id, key, raw)

    def _mark(self, name: str) -> int | None:
        raw = self.read(self.mark_key(name))
        return int(raw) if raw is not None and raw.isdigit() else None

    def _seq(self) -> int:
        raw = self.read(self.seq_key)
        return int(raw) if raw is not None and raw.isdigit() else self._recover_checkpoint()

    def _recover_checkpoint(self) -> int:
        """The highest checkpoint any change key names: a missing or damaged counter is rebuilt
        from the keys rather than allowed to hand out numbers twice."""
        marker = f"{self.prefix}#"
        found = [number for k in self.keys() if k.startswith(marker)
                 and (number := unpack_checkpoint(k[len(marker):])) is not None]
        raw = self.read(self.seq_key)
        return max([*found, int(raw) if raw is not None and raw.isdigit() else 0])

    def explain(self, key: str, raw: str) -> tuple[str, object]:
        """One key under the prefix and its value as a person reads them (the debug page): the
        key in the long form of the earlier layout (`todos:doc:<id>`, `chg:12`, `mark:sent`),
        the value unpacked (`compact.readable`). Raises ValueError when the value is damaged."""
        rest = key[len(self.prefix):]
        if rest == "#":
            return "seq", raw
        if rest.startswith("#"):
            model, id = parse_pointer(raw)
            if id is None:
                raise ValueError("not a change pointer")
            return f"chg:{unpack_checkpoint(rest[1:])}", f"{model}:{id}"
        if rest.startswith("="):
            return f"mark:{rest[1:]}", raw
        if rest.startswith("&"):
            shape = FieldShape.parse(raw)
            return f"shape:{rest[1:]}", {"fields": shape.names, "shared": shape.defaults}
        if rest in ("@", "journal"):
            return ("namespace" if rest == "@" else rest), json.loads(raw)
        for sep, kind in ((":", "doc"), ("!", "conflict")):
            model, found, id = rest.partition(sep)
            if found and model.isidentifier():
                return f"{model}:{kind}:{unpack_id(id)}", readable(raw, self._shape)
        return rest, raw

    # ---- reads ---------------------------------------------------------------------------------
    async def read_doc(self, model: str, id: str) -> Document | None:
        doc = self._doc(model, id)
        if doc is not None and self._pending is not None:  # `put_doc` reads it again
            key = self.doc_key(model, id)
            self._last_read = (key, self.read(key) or "", doc)
        return doc

    async def read_conflict(self, model: str, id: str) -> Document | None:
        key = self.conflict_key(model, id)
        raw = self.read(key)
        return None if raw is None else self._decode(model, id, key, raw)

    async def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        others = sorted(self._scan(model, "conflict"), key=lambda doc: doc.id)
        return [(self._doc(model, other.id), other) for other in others]

    async def query_docs(self, model: str, query: Query) -> list[Document]:
        live = {doc.id: doc for doc in self._scan(model, "doc") if not doc.deleted}
        return [live[id] for id, _ in apply(query, ((doc.id, doc.data) for doc in live.values()))]

    async def count_docs(self, model: str, query: Query) -> int:
        return len(await self.query_docs(model, Query(where=query.where)))

    async def feed_docs(
        self, model: str, since: int, limit: int, owner: Owners = None
    ) -> list[Document]:
        owners = owner_tuple(owner)
        out: list[Document] = []
        top, cursor = self._seq(), since + 1
        chunk = min(FEED_CHUNK, max(64, limit))  # change keys read in one go
        mine = model + ":"
        while cursor <= top and len(out) < limit:
            numbers = range(cursor, min(top, cursor + chunk - 1) + 1)
            cursor = numbers[-1] + 1
            change_keys = [self.change_key(checkpoint) for checkpoint in numbers]
            hits: list[tuple[int, str]] = []
            for checkpoint, key, raw in zip(numbers, change_keys, self.read_many(change_keys),
                                            strict=True):
                if raw is None:
                    continue  # superseded by a later write of the same document
                if not raw.startswith(mine) and raw[:1] != "{" \
                        and raw.partition(":")[0] not in ("", raw):
                    continue  # another model's (it reports its own damaged pointers)
                pointer_model, pointer_id = parse_pointer(raw)
                if pointer_id is None:
                    self.corrupt_keys.add(key)
                    continue
                if pointer_model == model:
                    hits.append((checkpoint, pointer_id))
            doc_keys = [self.doc_key(model, id) for _, id in hits]
            for (checkpoint, id), key, raw in zip(hits, doc_keys, self.read_many(doc_keys),
                                                  strict=True):
                if raw is None:
                    continue
                try:
                    doc = self._decode(model, id, key, raw)
                except CorruptEntryError:
                    continue  # the document's key is reported in corrupt_keys
                if doc.checkpoint == checkpoint and (owners is None or doc.owner in owners):
                    out.append(doc)
                    if len(out) >= limit:
                        break
        return out

    async def count_changed(self, model: str, since: int, owner: Owners = None) -> int:
        if owner is not None:
            return len(await self.feed_docs(model, since, 10**9, owner))
        return max(0, self._seq() - since)

    async def last_checkpoint(self) -> int:
        return self._seq()

    async def read_mark(self, name: str) -> int | None:
        return self._mark(name)

    # ---- writes ------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[KeyValueAdapter]:
        if self._pending is not None:  # nested: the outer transaction writes everything
            yield self
            return
        self._pending = {}
        self._checked = set()
        try:
            yield self
            pending = self._pending
        finally:
            self._pending = None  # an exception inside: nothing was written at all
            self._ahead, self._last_read = {}, None
        if pending:
            self.space.commit(pending)

    def _run(self, steps: list[tuple[str, str | None]]) -> None:
        """Set (or, for None, remove) keys as part of the transaction in progress; outside one,
        the steps are committed at once, together."""
        if self._pending is None:
            self.space.commit(dict(steps))
            return
        for key, value in steps:
            self._pending.pop(key, None)  # keep the order of the last write of each key
            self._pending[key] = value

    async def prepare_writes(self, model: str, ids: list[str]) -> None:
        """Read at once what writing these documents as changes reads: their entries, their
        conflict keys and the next change keys (each would be a call to the browser)."""
        if self._pending is None or not ids:
            return
        seq = self._seq()
        keys = [self.doc_key(model, id) for id in ids]
        keys += [self.conflict_key(model, id) for id in ids]
        keys += [self.change_key(seq + i) for i in range(1, len(ids) + 1)]
        keys = [key for key in dict.fromkeys(keys) if key not in self._pending]
        self._ahead.update(zip(keys, self.read_many(keys), strict=True))

    async def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        model = doc.model
        steps: list[tuple[str, str | None]] = []
        if new_checkpoint:
            key, last = self.doc_key(model, doc.id), self._last_read
            self._last_read = None
            if last is not None and last[0] == key and last[1] == self.read(key):
                current: Document | None = last[2]  # what the transaction just read
            else:
                current = self._doc(model, doc.id)  # raises on a corrupt entry
            checkpoint = self._seq() + 1
            if self.read(self.change_key(checkpoint)) is not None:
                # The counter went backwards (damaged by hand or a crash): never reuse a number.
                checkpoint = self._recover_checkpoint() + 1
            doc = replace(doc, checkpoint=checkpoint)
            steps += [
                (self.change_key(checkpoint), self.pointer(model, doc.id)),
                (self.seq_key, str(checkpoint)),
            ]
            if current is not None:
                steps.append((self.change_key(current.checkpoint), None))
        steps += self.entry_steps(doc)
        self._run(steps)
        return doc

    async def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        if doc is None:
            self._run([(self.conflict_key(model, id), None)])
        else:
            self._run(self.entry_steps(replace(doc, model=model, id=id), "conflict"))

    async def put_mark(self, name: str, value: int) -> None:
        self._run([(self.mark_key(name), str(value))])

    async def forget_doc(self, model: str, id: str) -> None:
        current = self._doc(model, id)
        if current is not None:
            self._run([(self.doc_key(model, id), None),
                       (self.change_key(current.checkpoint), None)])

    async def drop_tombstones(self, model: str, through: int) -> int:
        gone = [doc for doc in self._scan(model, "doc")
                if doc.deleted and doc.checkpoint <= through]
        steps: list[tuple[str, str | None]] = []
        for doc in gone:
            steps += [(self.doc_key(model, doc.id), None), (self.change_key(doc.checkpoint), None)]
        self._run(steps)
        return len(gone)


def parse_pointer(raw: str) -> tuple[str | None, str | None]:
    """The model and id a change key points at (`todos:<packed id>`; the JSON object of earlier
    versions too); (None, None) when it is neither."""
    if raw.startswith("{"):
        try:
            pointer = json.loads(raw)
            model, id = pointer["model"], pointer["id"]
        except (ValueError, KeyError, TypeError):
            return None, None
        return (model, id) if isinstance(model, str) and isinstance(id, str) else (None, None)
    model, sep, id = raw.partition(":")
    if not (sep and model and id):
        return None, None
    try:
        return model, unpack_id(id)
    except ValueError:
        return None, None
