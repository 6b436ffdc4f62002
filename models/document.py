"""A document as every store and the protocol see it: a leaf module, imported by the stores,
`reconcile` and the server alike, and importing none of them.

Beside the dataclass live the pure functions over documents that replication's bookkeeping needs:
the wire form (`to_wire`/`from_wire`), the bounded bodies of unacknowledged revisions, and what
changes when a peer is known to hold a revision (`acknowledged`, `behind_base`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .changes import Change, ChangeType
from .limits import MAX_INTEGER
from .revisions import REVISION_FORM, generation, is_revision, join_histories

MAX_WIRE_HISTORY = 1000  # a store keeps at most HISTORY_LIMIT (+ the merge base); room to spare


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

    def to_wire(self) -> dict[str, Any]:
        """The JSON form replication sends (the protocol's `doc`)."""
        out: dict[str, Any] = {
            "id": self.id,
            "rev": self.rev,
            "history": list(self.history),
            "deleted": self.deleted,
            "data": self.data,
            "type": self.type.value,
            "checkpoint": self.checkpoint,
            "base_rev": self.base_rev,
            "owner": self.owner,
        }
        if self.base_rev is not None and self.base_rev != self.rev:
            out["base_data"] = self.base_data
        if self.unacked:
            out["unacked"] = [{"rev": rev, "data": body} for rev, body in self.unacked]
        return out

    @classmethod
    def from_wire(cls, model: str, raw: Any) -> Document:
        """Parse and check a protocol `doc`; raises ValueError naming what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("a doc must be an object")
        id, rev, history = raw.get("id"), raw.get("rev"), raw.get("history", [])
        deleted, data = raw.get("deleted", False), raw.get("data")
        if not isinstance(deleted, bool):
            raise ValueError("doc.deleted must be true or false")
        if not isinstance(id, str) or not id:
            raise ValueError("doc.id must be a non-empty string")
        if not is_revision(rev):
            raise ValueError(f"doc.rev must be a revision: {REVISION_FORM}")
        if not isinstance(history, list) or not all(is_revision(r) for r in history):
            raise ValueError(f"doc.history must be a list of revisions: {REVISION_FORM}")
        if len(history) > MAX_WIRE_HISTORY:
            raise ValueError(f"doc.history has {len(history)} revisions; at most "
                             f"{MAX_WIRE_HISTORY}")
        if deleted:
            data = None
        elif not isinstance(data, dict):
            raise ValueError("doc.data must be an object unless doc.deleted is true")
        base_rev = raw.get("base_rev")
        if base_rev is not None and not is_revision(base_rev):
            raise ValueError(f"doc.base_rev must be a revision ({REVISION_FORM}) or null")
        base_data = raw.get("base_data", data if base_rev == rev else None)
        if base_data is not None and not isinstance(base_data, dict):
            raise ValueError("doc.base_data must be an object or null")
        try:
            kind = ChangeType(raw.get("type", "delete" if deleted else "update"))
        except ValueError:
            raise ValueError("doc.type must be create, update or delete") from None
        checkpoint = raw.get("checkpoint", 0)
        if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or not (
            0 <= checkpoint <= MAX_INTEGER
        ):
            raise ValueError("doc.checkpoint must be an integer from 0 to 2^63-1")
        owner = data.get("owner") if data else raw.get("owner")
        if owner is not None and not isinstance(owner, str):
            raise ValueError("doc.owner must be a string or null")
        return cls(model, id, rev, checkpoint, deleted, data, kind, join_histories(history),
                   base_rev, base_data, owner, unacked_from_wire(raw.get("unacked", [])))


UNACKED_LIMIT = 8  # bodies of unacknowledged revisions a document keeps (oldest dropped first)


def unacked_from_wire(raw: Any) -> tuple[tuple[str, dict], ...]:
    """A wire doc's `unacked` (optional: older senders leave it out); ValueError if malformed."""
    if not isinstance(raw, list) or len(raw) > UNACKED_LIMIT:
        raise ValueError(f"doc.unacked must be a list of at most {UNACKED_LIMIT} objects")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("rev"), str) \
                or not is_revision(item["rev"]) or not isinstance(item.get("data"), dict):
            raise ValueError("each doc.unacked item must be {\"rev\": <revision>, \"data\": {...}}")
        out.append((item["rev"], item["data"]))
    return tuple(out)


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


__all__ = ["MAX_WIRE_HISTORY", "UNACKED_LIMIT", "Document", "acknowledged", "behind_base",
           "remember_unacked", "unacked_from_wire"]
