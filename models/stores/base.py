"""The store interface: every store speaks it, and the models and replication talk only to it.

A store keeps documents (plain JSON dicts) per model name. Each write is checked against the
revision the writer based it on (optimistic concurrency) and records its `Change` in the same
transaction. Stores never validate: the model does that before it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..changes import Change, ChangeType
from ..errors import ConflictError, NotFoundError
from ..filters import Query
from ..revisions import next_revision


@dataclass(frozen=True)
class Document:
    """A stored document with its bookkeeping. `data` is None for a tombstone."""

    model: str
    id: str
    rev: str
    prev: str | None
    checkpoint: int
    deleted: bool
    data: dict | None
    type: ChangeType = ChangeType.UPDATE  # what the write that made this revision was

    @property
    def change(self) -> Change:
        return Change(self.model, self.id, self.rev, self.prev, self.checkpoint, self.type)


class Store:
    """Abstract base. Subclasses implement the five primitives below; all methods are async."""

    async def get(self, model: str, id: str) -> Document | None:
        """The live document, or None when missing or deleted."""
        doc = await self.get_any(model, id)
        return None if doc is None or doc.deleted else doc

    async def get_any(self, model: str, id: str) -> Document | None:
        """The document or its tombstone."""
        raise NotImplementedError

    async def find(self, model: str, query: Query) -> list[Document]:
        raise NotImplementedError

    async def count(self, model: str, query: Query) -> int:
        raise NotImplementedError

    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        """Store `data` (None deletes) if the current revision is `base_rev`; record the change."""
        raise NotImplementedError

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        """Newest change of each document written after checkpoint `since`, oldest first."""
        raise NotImplementedError

    async def checkpoint(self) -> int:
        """The store's current sequence number."""
        raise NotImplementedError


def plan_write(
    model: str, id: str, current: Document | None, data: dict | None, base_rev: str | None,
    checkpoint: int,
) -> Document:
    """The document a write produces, after checking it is based on the current revision.

    Shared by every local store so the conflict rule and the revision scheme live in one place.
    A tombstone counts as "no document" for a create, and its revision becomes the new parent.
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
    rev = next_revision(current_rev, data, deleted)
    kind = ChangeType.DELETE if deleted else ChangeType.UPDATE if live else ChangeType.CREATE
    return Document(model, id, rev, current_rev, checkpoint, deleted, data, kind)


__all__ = ["Document", "Store", "plan_write"]
