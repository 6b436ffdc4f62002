"""`LocalStore`: the rules every local store keeps, written once over an `Adapter`.

Each write is checked against the revision it was based on and records its change in the same
transaction; incoming revisions are reconciled (`models.reconcile`); conflicts are recorded and
settled; acknowledgements move the merge base; tombstones are purged behind a horizon. The
adapter only stores and finds, so a new database never touches any of this.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import replace

from ..changes import Change, ChangeType
from ..document import Document, acknowledged, remember_unacked
from ..errors import CheckpointExpiredError, ConflictError, NotFoundError, StorageFullError
from ..filters import Query
from ..outcome import Outcome
from ..ownership import owner_of
from ..reconcile import Decision, classify, reconcile
from ..revisions import join_histories, next_revision
from .adapter import Adapter, Transaction
from .store import Check, Merge, Store, WriteCheck

SENT_MARK = "sent"  # the highest checkpoint a replication handed to a peer (`note_sent`)
CHECKPOINT_MARK = "checkpoint:"  # prefix of the saved replication checkpoints
HORIZON_MARK = "horizon:"  # + model: the checkpoint through which tombstones were purged
IDENTITY_MARK = "database"  # the store's identity (`identity`), made once
KEPT_PREFIX = "kept."  # + model: what `evict` kept of documents the user may no longer read
IDENTITY_BITS = 52  # random bits of an identity: 2^52 <= identity < 2^53, exact in JavaScript


def new_identity() -> int:
    """A fresh random identity, never 0 and exact as a JavaScript number."""
    return (1 << IDENTITY_BITS) | secrets.randbits(IDENTITY_BITS)


class LocalStore(Store):
    """A store over an adapter: a dict, Web Storage, SQLite, or a database server."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self._identity: int | None = None  # once read it never changes (`create_mark`)
        self.derived: dict = {}  # what is computed from the documents (models/memberships.py)

    # ---- the data API -------------------------------------------------------------------------
    async def get_any(self, model: str, id: str) -> Document | None:
        return await self.adapter.read_doc(model, id)

    async def find(self, model: str, query: Query) -> list[Document]:
        return await self.adapter.query_docs(model, query)

    async def count(self, model: str, query: Query) -> int:
        return await self.adapter.count_docs(model, query)

    async def checkpoint(self) -> int:
        return await self.adapter.last_checkpoint()

    async def identity(self) -> int | None:
        """Kept as the mark `database`, made the first time it is asked for. None only while a
        full Web Storage cannot take it (asked again next time)."""
        if self._identity is None:
            found = await self.adapter.read_mark(IDENTITY_MARK)
            if found is None:
                try:
                    found = await self.adapter.create_mark(IDENTITY_MARK, new_identity())
                except StorageFullError:
                    return None
            self._identity = found
        return self._identity

    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        async with self.adapter.transaction() as tx:
            current = await tx.read_doc(model, id)
            sent = await tx.read_mark(SENT_MARK) or 0
            doc = await tx.put_doc(plan_write(model, id, current, data, base_rev, sent))
            await _settle_conflict(tx, doc)
        return doc

    async def write_many(
        self, model: str, writes: list[tuple[str, dict | None, str | None]], *,
        check: WriteCheck | None = None,
    ) -> list[Document]:
        """`write` for each, in one transaction (see `Store.write_many`): the same documents,
        checkpoints, merge bases and conflict settlements as writing them one by one."""
        out = []
        async with self.adapter.transaction() as tx:
            await tx.prepare_writes(model, [id for id, _, _ in writes])
            sent = await tx.read_mark(SENT_MARK) or 0
            for id, data, base_rev in writes:
                current = await tx.read_doc(model, id)
                if check is not None:
                    check(id, current)
                doc = await tx.put_doc(plan_write(model, id, current, data, base_rev, sent))
                await _settle_conflict(tx, doc)
                out.append(doc)
        return out

    # ---- replication --------------------------------------------------------------------------
    async def purge_horizon(self, model: str) -> int:
        """Tombstones written at or before this checkpoint may have been purged."""
        return await self.adapter.read_mark(HORIZON_MARK + model) or 0

    async def feed(
        self, model: str, since: int = 0, limit: int = 1000, *, full: bool = False,
        owner: str | tuple[str, ...] | None = None,
    ) -> list[Document]:
        if not full and since > 0:
            horizon = await self.purge_horizon(model)
            if since < horizon:
                raise CheckpointExpiredError(
                    f"checkpoint {since} is older than the tombstone purge horizon {horizon}: "
                    "resync from the start", {"since": since, "horizon": horizon},
                )
        return await self.adapter.feed_docs(model, since, limit, owner) if limit > 0 else []

    async def diff(self, model: str, changes: list[Change]) -> dict[str, list[str]]:
        missing, conflicts = [], []
        for change in changes:
            kind = classify(await self.adapter.read_doc(model, change.id), change.rev,
                            change.history or ((change.prev,) if change.prev else ()))
            if kind == "missing":
                missing.append(change.id)
            elif kind == "conflict":
                conflicts.append(change.id)
        return {"missing": missing, "conflicts": conflicts}

    async def apply(
        self, model: str, docs: list[Document], *, merge: Merge | None = None,
        check: Check | None = None, from_peer: bool = True, peer_current: bool = False,
    ) -> list[Outcome]:
        outcomes = []
        async with self.adapter.transaction() as tx:
            for incoming in docs:
                current = await tx.read_doc(model, incoming.id)
                problem = check(incoming, current) if check else None
                if problem:
                    outcomes.append(Outcome(incoming.id, incoming.rev, "rejected", error=problem))
                    continue
                decision = reconcile(current, incoming, merge, from_peer=from_peer,
                                     peer_current=peer_current)
                if decision.status == "merged" and check and decision.doc is not None and check(
                    decision.doc, current
                ):
                    decision = Decision("conflict")  # two valid sides, an invalid blend
                after = current
                if decision.doc is not None:
                    after = await tx.put_doc(decision.doc,
                                             new_checkpoint=not decision.bookkeeping)
                    await _settle_conflict(tx, after)
                if decision.status == "conflict":
                    await tx.put_conflict(model, incoming.id, incoming)
                outcomes.append(Outcome(incoming.id, incoming.rev, decision.status, after))
        return outcomes

    async def mark_synced(self, model: str, docs: list[Document]) -> None:
        async with self.adapter.transaction() as tx:
            for sent in docs:
                current = await tx.read_doc(model, sent.id)
                updated = acknowledged(current, sent) if current is not None else None
                if updated is not None:
                    await tx.put_doc(updated, new_checkpoint=False)

    async def note_sent(self, model: str, docs: list[Document]) -> None:
        """The edit of a document written at or before the highest of their checkpoints keeps
        the body it replaces (`Document.unacked`) until acknowledged. One write per page."""
        top = max((doc.checkpoint for doc in docs), default=0)
        async with self.adapter.transaction() as tx:
            if top > (await tx.read_mark(SENT_MARK) or 0):
                await tx.put_mark(SENT_MARK, top)

    async def saved_checkpoint(self, name: str) -> int | None:
        return await self.adapter.read_mark(CHECKPOINT_MARK + name)

    async def save_checkpoint(self, name: str, checkpoint: int) -> None:
        async with self.adapter.transaction() as tx:
            await tx.put_mark(CHECKPOINT_MARK + name, checkpoint)

    async def conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        return await self.adapter.list_conflicts(model)

    async def record_conflict(self, theirs: Document) -> None:
        async with self.adapter.transaction() as tx:
            await tx.put_conflict(theirs.model, theirs.id, theirs)

    async def pending(self, model: str, since: int = 0,
                      owner: str | tuple[str, ...] | None = None) -> int:
        return await self.adapter.count_changed(model, since, owner)

    async def evict(self, model: str, owners: tuple[str, ...]) -> tuple[int, int]:
        """Forget every document of `model` owned by none of `owners` (what the user may read
        now, as the server said): no tombstone, nothing to push. One that holds changes no peer
        acknowledged is first kept, as it is, under `kept.<model>` (`models/kept.py`), never
        replicated, until the user dismisses it (an unsynced delete is just forgotten: the
        document was going away anyway). Returns (forgotten, kept). Documents with no
        owner at all are not the server's to take back and stay."""
        readable, gone, cursor = set(owners), [], 0
        while page := await self.adapter.feed_docs(model, cursor, 1000):
            cursor = page[-1].checkpoint
            gone += [doc for doc in page if doc.owner is not None and doc.owner not in readable]
        kept = 0
        if gone:
            self.derived.clear()  # forgotten documents leave no change to catch up with
            async with self.adapter.transaction() as tx:
                for doc in gone:
                    if doc.rev != doc.base_rev and not doc.deleted:
                        await tx.put_doc(replace(doc, model=KEPT_PREFIX + model),
                                         new_checkpoint=False)
                        kept += 1
                    await tx.forget_doc(model, doc.id)
                    await tx.put_conflict(model, doc.id, None)
        return len(gone), kept

    async def set_aside(self, model: str, ids: Iterable[str]) -> int:
        """Writes the peer refused as not allowed (the user lost the right to write there,
        though they may still read it: an editor made a viewer while offline). Each is kept,
        as it is, under `kept.<model>` (`models/kept.py`, as `evict` keeps), and the document
        goes back to what the peer holds (its merge base), or is forgotten when the peer holds
        none: the device then holds what its user may read, and the edit is not lost (an
        unsynced delete is just undone, as `evict` forgets one). Returns how many were kept."""
        kept, undone = 0, 0
        async with self.adapter.transaction() as tx:
            for id in ids:
                doc = await tx.read_doc(model, id)
                if doc is None or doc.rev == doc.base_rev:
                    continue
                if not doc.deleted:
                    await tx.put_doc(replace(doc, model=KEPT_PREFIX + model),
                                     new_checkpoint=False)
                    kept += 1
                undone += 1
                if doc.base_rev is None:
                    await tx.forget_doc(model, id)
                    continue
                history = doc.history[doc.history.index(doc.base_rev) + 1:] \
                    if doc.base_rev in doc.history else ()
                await tx.put_doc(replace(
                    doc, rev=doc.base_rev, data=doc.base_data, deleted=doc.base_data is None,
                    history=history, unacked=(),
                    owner=owner_of(model, doc.base_data, doc.owner)))
        if undone:
            self.derived.clear()
        return kept

    async def restamp(self, model: str, owner: str) -> int:
        """Give every document of `owner` (tombstones too) a new checkpoint, revisions kept and
        merge bases dropped: someone who just gained access to it reads all of it at their next
        pull, however old, and nothing else (a merge base's body is an earlier version, or, on
        a tombstone, the deleted body); the per-owner feeds stay a walk over what changed.
        Returns how many."""
        docs, cursor = [], 0
        while page := await self.adapter.feed_docs(model, cursor, 1000, owner):
            cursor = page[-1].checkpoint
            docs += page
        if docs:
            async with self.adapter.transaction() as tx:
                for doc in docs:
                    current = await tx.read_doc(model, doc.id)
                    if current is not None and current.owner == owner:
                        # without its merge base: that body (an earlier version, or what a
                        # tombstone deleted) is no business of whoever reads the owner now
                        await tx.put_doc(replace(current, base_rev=current.rev,
                                                 base_data=current.data, unacked=()))
        return len(docs)

    async def delete_owned(self, model: str, owner: str) -> list[Document]:
        """Delete every live document of `owner` (a tombstone each, in one transaction, with no
        merge base): what a group takes with it when it is deleted. Returns the tombstones."""
        ids, cursor = [], 0
        while page := await self.adapter.feed_docs(model, cursor, 1000, owner):
            cursor = page[-1].checkpoint
            ids += [doc.id for doc in page if not doc.deleted]
        written = []
        if ids:
            async with self.adapter.transaction() as tx:
                sent = await tx.read_mark(SENT_MARK) or 0
                for id in ids:
                    current = await tx.read_doc(model, id)
                    if current is not None and not current.deleted and current.owner == owner:
                        planned = plan_write(model, id, current, None, current.rev, sent)
                        # no merge base: the body must not travel with the tombstone to
                        # whoever reads the owner later
                        doc = await tx.put_doc(replace(planned, base_rev=planned.rev,
                                                       base_data=None))
                        await _settle_conflict(tx, doc)
                        written.append(doc)
        return written

    async def purge_tombstones(self, model: str, through: int) -> int:
        async with self.adapter.transaction() as tx:
            gone = await tx.drop_tombstones(model, through)
            horizon = await tx.read_mark(HORIZON_MARK + model) or 0
            if through > horizon:
                await tx.put_mark(HORIZON_MARK + model, through)
        return gone


async def _settle_conflict(tx: Transaction, doc: Document) -> None:
    """A revision that descends from the recorded conflicting one resolves the conflict, and so
    does deleting a document whose other side was a delete too (nothing left to choose)."""
    recorded = await tx.read_conflict(doc.model, doc.id)
    if recorded is not None and (doc.knows(recorded.rev) or (doc.deleted and recorded.deleted)):
        await tx.put_conflict(doc.model, doc.id, None)


def plan_write(
    model: str, id: str, current: Document | None, data: dict | None, base_rev: str | None,
    sent_through: int = 0,
) -> Document:
    """The document a local write produces, after checking it is based on the current revision.

    A tombstone counts as "no document" for a create, and its revision becomes the new parent.
    The merge base is carried along, so a later replication can still merge field by field; so
    is the body being replaced when a peer may hold it unacknowledged (it was written at or before
    `sent_through`, the highest checkpoint handed to a peer, and no peer acknowledged it).
    """
    current_rev = current.rev if current else None
    live = current is not None and not current.deleted
    if data is None and not live:
        raise NotFoundError(f"{model} {id!r} does not exist", {"id": id})
    if base_rev != current_rev and not (base_rev is None and not live):
        raise ConflictError(
            f"{model} {id!r} changed since revision {base_rev} (now {current_rev})",
            {"id": id, "base_rev": base_rev, "current_rev": current_rev},
        )
    deleted = data is None
    kind = ChangeType.DELETE if deleted else ChangeType.UPDATE if live else ChangeType.CREATE
    history = (join_histories((current_rev,), current.history, keep=current.base_rev)
               if current else ())
    owner = owner_of(model, data, current.owner if current else None)
    unacked: tuple[tuple[str, dict], ...] = ()
    if current is not None and live and not deleted:
        unacked = current.unacked
        if current.rev != current.base_rev and 0 < current.checkpoint <= sent_through \
                and current.data is not None:
            unacked = remember_unacked(unacked, current.rev, current.data)
    return Document(
        model, id, next_revision(current_rev, data, deleted), 0, deleted, data, kind, history,
        current.base_rev if current else None, current.base_data if current else None, owner,
        unacked,
    )


