"""A document as every store and the protocol see it: a leaf module, imported by the stores,
`reconcile` and the server alike, and importing none of them.

Beside the dataclass live the pure functions over documents that replication's bookkeeping needs:
the bounded bodies of unacknowledged revisions, and what changes when a peer is known to hold a
revision (`acknowledged`, `behind_base`). Its wire form is the protocol's (`models/protocol/`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .changes import Change, ChangeType
from .ownership import owner_of
from .revisions import generation


@dataclass(frozen=True)
class Document:
    """A stored document with its bookkeeping. `data` is None for a tombstone.

    `history` lists ancestor revisions, newest first (so `prev` is its head). `base_rev` and
    `base_data` are the last revision this store knows a replication peer also holds: the common
    base for a three-way merge. `base_data` equals `data` while nothing changed since.
    `unacked` keeps `(rev, body)` of the ancestors this store wrote and may have sent to a peer
    without seeing the answer (at most UNACKED_LIMIT, newest last): the peer may hold one of them,
    so each is a merge base candidate too (docs/PROTOCOL.md, "Lost answers").
    """

    model: str
    id: str
    rev: str
    checkpoint: int
    deleted: bool
    data: dict | None
    type: ChangeType = ChangeType.UPDATE
    history: tuple[str, ...] = ()
    base_rev: str | None = None
    base_data: dict | None = None
    owner: str | None = None  # kept on tombstones too, so per-user feeds include deletes
    unacked: tuple[tuple[str, dict], ...] = ()

    @property
    def prev(self) -> str | None:
        return self.history[0] if self.history else None

    @property
    def change(self) -> Change:
        return Change(self.model, self.id, self.rev, self.prev, self.checkpoint, self.type,
                      self.history)

    def knows(self, rev: str) -> bool:
        """Whether `rev` is this revision or one of its ancestors."""
        return rev == self.rev or rev in self.history

    def body_of(self, rev: str) -> dict | None:
        """The body of `rev` if this document kept it (itself, its merge base, or unacked)."""
        if rev == self.rev:
            return self.data
        if rev == self.base_rev:
            return self.base_data
        return next((body for kept, body in self.unacked if kept == rev), None)


UNACKED_LIMIT = 8  # bodies of unacknowledged revisions a document keeps (oldest dropped first)


def remember_unacked(
    unacked: tuple[tuple[str, dict], ...], rev: str, body: dict
) -> tuple[tuple[str, dict], ...]:
    """`unacked` plus (rev, body), newest last, at most UNACKED_LIMIT: past the bound the oldest
    goes, which can only turn a later merge into a reported conflict, never lose a write."""
    kept = tuple(item for item in unacked if item[0] != rev) + ((rev, body),)
    return kept[-UNACKED_LIMIT:]


def acknowledged(current: Document, held: Document) -> Document | None:
    """`current` once a peer is known to hold `held` (current's revision or an ancestor):
    `held` becomes the merge base unless the recorded one is as new, and the unacked bodies that
    `held` descends from are dropped. None when that changes nothing."""
    if not current.knows(held.rev):
        return None
    base_rev, base_data = current.base_rev, current.base_data
    if held.rev != base_rev and not (
        base_rev is not None and current.knows(base_rev)
        and generation(base_rev) >= generation(held.rev)
    ):
        base_rev, base_data = held.rev, held.data
    unacked = tuple(item for item in current.unacked if not held.knows(item[0]))
    if base_rev == current.base_rev and unacked == current.unacked:
        return None
    return replace(current, base_rev=base_rev, base_data=base_data, unacked=unacked)


def behind_base(current: Document, held: Document) -> Document | None:
    """`current` rebased on `held` when its one peer shows it holds only `held` now, an ancestor
    of the recorded merge base. The peer's document only moves forward, so such a peer has lost
    the newer revision (its tombstone was purged and an older revision came back): what is newer
    here must be sent again, not taken as synced. None when the peer is not behind."""
    if current.knows(held.rev) and current.base_rev is not None \
            and current.base_rev != held.rev and not held.knows(current.base_rev):
        unacked = tuple(item for item in current.unacked if not held.knows(item[0]))
        return replace(current, base_rev=held.rev, base_data=held.data, unacked=unacked)
    return None


def with_owner(doc: Document, owner: str,
               adopt: Callable[[dict, str], dict] | None = None) -> Document:
    """`doc` owned by `owner`: the owner rewritten wherever the document carries it (itself, its
    body, its merge base body and its unacknowledged bodies, so a merge sees no owner change).
    The revisions stay: they do not name the owner (`models.revisions.named_content`)."""

    def owned(body: dict | None) -> dict | None:
        return None if body is None else adopt(body, owner) if adopt else {**body, "owner": owner}

    data, base_data = owned(doc.data), owned(doc.base_data)
    # a tombstone's owner follows from the body it deleted, as a live document's from its own
    return replace(doc, owner=owner_of(doc.model, data if data is not None else base_data,
                                       owner), data=data, base_data=base_data,
                   unacked=tuple((rev, owned(body) or {}) for rev, body in doc.unacked))


__all__ = ["UNACKED_LIMIT", "Document", "acknowledged", "behind_base", "remember_unacked",
           "with_owner"]
