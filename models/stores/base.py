"""The store interface: every store speaks it, and the models and replication talk only to it.

A store keeps documents (plain JSON dicts) per model name. Local stores implement a handful of
synchronous primitives (`read_doc`, `put_doc`, `transaction`, ...); this base class builds the
async data API and the replication entry points (`write`, `apply`, `diff`, `mark_synced`) on top
of them, so the rules live once: each write is checked against the revision it was based on, and
records its change in the same transaction. Stores never validate: the model does that.
`RemoteStore` overrides the async methods instead and speaks HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from ..changes import Change, ChangeType
from ..document import (
    Document,
    acknowledged,
    remember_unacked,
)
from ..errors import CheckpointExpiredError, ConflictError, NotFoundError
from ..filters import Query
from ..outcome import Outcome
from ..reconcile import Decision, classify, reconcile
from ..revisions import (
    REVISION,
    join_histories,
    next_revision,
)

Merge = Callable[[dict, dict, dict], "dict | None"]


class Store:
    """Abstract base. Local stores implement the primitives; all public methods are async."""

    # ---- primitives (synchronous; called inside `transaction`) --------------------------------
    def read_doc(self, model: str, id: str) -> Document | None:
        raise NotImplementedError

    def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        """Store `doc`; with `new_checkpoint` it is a change and gets the next checkpoint."""
        raise NotImplementedError

    def read_conflict(self, model: str, id: str) -> Document | None:
        raise NotImplementedError

    def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        raise NotImplementedError

    def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        """(this store's document, the other side's revision) for every recorded conflict."""
        raise NotImplementedError

    def query_docs(self, model: str, query: Query) -> list[Document]:
        raise NotImplementedError

    def count_docs(self, model: str, query: Query) -> int:
        raise NotImplementedError

    def feed_docs(
        self, model: str, since: int, limit: int, owner: str | None = None
    ) -> list[Document]:
        """Documents (tombstones too) written after checkpoint `since`, oldest first; with
        `owner`, only that user's."""
        raise NotImplementedError

    def last_checkpoint(self) -> int:
        raise NotImplementedError

    def purge_horizon(self, model: str) -> int:
        """Tombstones written at or before this checkpoint may have been purged."""
        return 0

    def drop_tombstones(self, model: str, through: int) -> int:
        raise NotImplementedError

    def read_mark(self, name: str) -> int | None:
        """A named number this store keeps for replication: saved checkpoints, `sent`."""
        raise NotImplementedError

    def put_mark(self, name: str, value: int) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen, or none do."""
        yield

    # ---- the async data API -------------------------------------------------------------------
    async def get(self, model: str, id: str) -> Document | None:
        """The live document, or None when missing or deleted."""
        doc = await self.get_any(model, id)
        return None if doc is None or doc.deleted else doc

    async def get_any(self, model: str, id: str) -> Document | None:
        """The document or its tombstone."""
        return self.read_doc(model, id)

    async def find(self, model: str, query: Query) -> list[Document]:
        return self.query_docs(model, query)

    async def count(self, model: str, query: Query) -> int:
        return self.count_docs(model, query)

    async def checkpoint(self) -> int:
        """The store's current sequence number."""
        return self.last_checkpoint()

    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        """Store `data` (None deletes) if the current revision is `base_rev`; record the change."""
        with self.transaction():
            current = self.read_doc(model, id)
            sent = self.read_mark(SENT_MARK) or 0
            doc = self.put_doc(plan_write(model, id, current, data, base_rev, sent))
            self._settle_conflict(doc)
        return doc

    # ---- replication --------------------------------------------------------------------------
    async def feed(
        self, model: str, since: int = 0, limit: int = 1000, *, full: bool = False,
        owner: str | None = None,
    ) -> list[Document]:
        """What replication reads: documents changed after `since`, with history and base.

        Reading from a checkpoint below the tombstone purge horizon raises, because deletes may
        be missing; `full=True` says the reader is paging through a full resync from 0 and will
        reconcile deletions itself.
        """
        if not full and 0 < since < self.purge_horizon(model):
            raise CheckpointExpiredError(
                f"checkpoint {since} is older than the tombstone purge horizon "
                f"{self.purge_horizon(model)}: resync from the start",
                {"since": since, "horizon": self.purge_horizon(model)},
            )
        return self.feed_docs(model, since, limit, owner) if limit > 0 else []

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        """LoopBack's `changes(since)`: the newest change of each document after `since`."""
        return [doc.change for doc in await self.feed(model, since, limit)]

    async def diff(self, model: str, changes: list[Change]) -> dict[str, list[str]]:
        """LoopBack's `diff`: which of `changes` this store lacks, and which would conflict."""

        missing, conflicts = [], []
        for change in changes:
            kind = classify(self.read_doc(model, change.id), change.rev,
                            change.history or ((change.prev,) if change.prev else ()))
            if kind == "missing":
                missing.append(change.id)
            elif kind == "conflict":
                conflicts.append(change.id)
        return {"missing": missing, "conflicts": conflicts}

    async def apply(
        self, model: str, docs: list[Document], *, merge: Merge | None = None,
        check: Callable[[Document, Document | None], dict | None] | None = None,
        from_peer: bool = True, peer_current: bool = False,
    ) -> list[Outcome]:
        """LoopBack's bulk update: take revisions from another store, in one transaction.

        Each document is fast-forwarded, recognised as already known, merged field by field, or
        reported as a conflict (and recorded, both versions kept, nothing overwritten).
        `check(incoming, current)` may reject a document (validation, access): it is skipped and
        the rest applies. With `from_peer` (the default) an applied revision becomes the merge
        base, since the peer holds it; a conflict resolution made here passes False.
        `peer_current`: the docs are what this store's one peer holds now (a client pulling from
        its server), so a known one becomes the merge base even if an older one than recorded.
        """

        outcomes = []
        with self.transaction():
            for incoming in docs:
                current = self.read_doc(model, incoming.id)
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
                    after = self.put_doc(decision.doc, new_checkpoint=not decision.bookkeeping)
                    self._settle_conflict(after)
                if decision.status == "conflict":
                    self.put_conflict(model, incoming.id, incoming)
                outcomes.append(Outcome(incoming.id, incoming.rev, decision.status, after))
        return outcomes

    async def mark_synced(self, model: str, docs: list[Document]) -> None:
        """A peer now holds these revisions: remember them as the merge base (not a change)."""
        with self.transaction():
            for sent in docs:
                current = self.read_doc(model, sent.id)
                updated = acknowledged(current, sent) if current is not None else None
                if updated is not None:
                    self.put_doc(updated, new_checkpoint=False)

    async def note_sent(self, model: str, docs: list[Document]) -> None:
        """About to send `docs` to a peer, whose answer may never arrive. From now on a local
        edit of any document written at or before the highest of their checkpoints keeps the
        body it replaces (`Document.unacked`) until a peer acknowledges it. One write per page."""
        top = max((doc.checkpoint for doc in docs), default=0)
        with self.transaction():
            if top > (self.read_mark(SENT_MARK) or 0):
                self.put_mark(SENT_MARK, top)

    async def saved_checkpoint(self, name: str) -> int | None:
        """The checkpoint a replication saved under `name` (None if none was)."""
        return self.read_mark(f"{CHECKPOINT_MARK}{name}")

    async def save_checkpoint(self, name: str, checkpoint: int) -> None:
        """Where a replication reached, so an interrupted one resumes there (not a change)."""
        with self.transaction():
            self.put_mark(f"{CHECKPOINT_MARK}{name}", checkpoint)

    async def conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        return self.list_conflicts(model)

    async def record_conflict(self, theirs: Document) -> None:
        """Keep the other side's revision of a document in conflict (until a resolution)."""
        with self.transaction():
            self.put_conflict(theirs.model, theirs.id, theirs)

    async def pending(self, model: str, since: int = 0, owner: str | None = None) -> int:
        """How many documents changed after `since` (an upper bound; for progress reports);
        with `owner`, only that owner's (exact: a user learns nothing about the others)."""
        if owner is not None:
            return len(await self.feed(model, since, 10**9, owner=owner, full=True))
        return max(0, self.last_checkpoint() - since)

    async def purge_tombstones(self, model: str, through: int) -> int:
        """Forget tombstones written at or before checkpoint `through` (see docs/PROTOCOL.md)."""
        with self.transaction():
            return self.drop_tombstones(model, through)

    def _settle_conflict(self, doc: Document) -> None:
        """A revision that descends from the recorded conflicting one resolves the conflict, and
        so does deleting a document whose other side was a delete too (nothing left to choose)."""
        recorded = self.read_conflict(doc.model, doc.id)
        if recorded is not None and (doc.knows(recorded.rev) or (doc.deleted and recorded.deleted)):
            self.put_conflict(doc.model, doc.id, None)


SENT_MARK = "sent"  # the highest checkpoint a replication handed to a peer (`note_sent`)
CHECKPOINT_MARK = "checkpoint:"  # prefix of the saved replication checkpoints


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
    owner = data.get("owner") if data else (current.owner if current else None)
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


__all__ = ["REVISION", "CheckpointExpiredError", "Document", "Outcome", "Store", "plan_write"]
