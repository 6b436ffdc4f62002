"""The store interface: what models and replication speak, whatever holds the documents.

A store keeps documents (plain JSON dicts with revision bookkeeping, `models.document.Document`)
per model name. Every method is async, because a store may be a server across the network
(`RemoteStore`) or a database the server must not block on. Stores never validate: the model
does that. Local stores get all of this from `LocalStore`, which builds it on a small adapter
interface (`models.stores.adapter`); a new database implements that, never this.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

from ..changes import Change
from ..document import Document
from ..errors import OffsyncError
from ..filters import Query
from ..outcome import Outcome

Merge = Callable[[dict, dict, dict], "dict | None"]
Check = Callable[[Document, "Document | None"], "dict | None"]
WriteCheck = Callable[[str, "Document | None"], None]


class Store(abc.ABC):
    """The async data API and the replication entry points."""

    # ---- the data API -------------------------------------------------------------------------
    async def get(self, model: str, id: str) -> Document | None:
        """The live document, or None when missing or deleted."""
        doc = await self.get_any(model, id)
        return None if doc is None or doc.deleted else doc

    @abc.abstractmethod
    async def get_any(self, model: str, id: str) -> Document | None:
        """The document or its tombstone."""

    @abc.abstractmethod
    async def find(self, model: str, query: Query) -> list[Document]:
        """Live documents matching a normalized query, in its order."""

    @abc.abstractmethod
    async def count(self, model: str, query: Query) -> int:
        """How many live documents match `query.where`."""

    @abc.abstractmethod
    async def checkpoint(self) -> int:
        """The store's current sequence number."""

    async def identity(self) -> int | None:
        """The identity of the database behind this store: a random number made once, when it
        is first asked for, and kept with the data (a copy of the database file has the same
        one; a new database gets a new one). A checkpoint means something only against the
        database that handed it out, so replication compares identities (docs/PROTOCOL.md,
        "A server that changed"). None: a store that cannot tell (an older server)."""
        return None

    async def identity_and_checkpoint(self) -> tuple[int | None, int]:
        """`identity()`, then `checkpoint()`: what a replication asks its peer first. A store
        across the network answers both in one request."""
        return await self.identity(), await self.checkpoint()

    @abc.abstractmethod
    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        """Store `data` (None deletes) if the current revision is `base_rev`; record the change.
        Raises `ConflictError` when it is not, `NotFoundError` when deleting what is not there."""

    async def write_many(
        self, model: str, writes: list[tuple[str, dict | None, str | None]], *,
        check: WriteCheck | None = None,
    ) -> list[Document]:
        """`write(model, id, data, base_rev=...)` for each `(id, data, base_rev)`, in order, as
        one transaction: every write happens or (a `ConflictError`, `NotFoundError`, a full
        storage, an error `check` raised) none does. `check(id, current)` sees each document as
        stored (None: there is none) before its write and may raise to refuse them all (the
        model's access rules on what is stored). The documents and the change feed end up
        exactly as the same writes one by one would leave them. A store that cannot write them
        together refuses."""
        raise OffsyncError(f"{type(self).__name__} takes no bulk writes: write one by one")

    # ---- replication --------------------------------------------------------------------------
    @abc.abstractmethod
    async def feed(
        self, model: str, since: int = 0, limit: int = 1000, *, full: bool = False,
        owner: str | tuple[str, ...] | None = None,
    ) -> list[Document]:
        """Documents (tombstones too) changed after checkpoint `since`, oldest first, with
        history and merge base; with `owner`, only that user's. Raises
        `CheckpointExpiredError` below the tombstone purge horizon unless `full` (a full resync
        from 0 that reconciles deletions itself)."""

    async def feed_counted(
        self, model: str, since: int, limit: int, *, full: bool = False,
    ) -> tuple[list[Document], int | None]:
        """A `feed` page and how many documents are left after it, when the store tells it with
        the page (a server does, so a replication's progress needs no separate `pending`
        request); None: ask `pending`."""
        return await self.feed(model, since, limit, full=full), None

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        """LoopBack's `changes(since)`: the newest change of each document after `since`."""
        return [doc.change for doc in await self.feed(model, since, limit)]

    @abc.abstractmethod
    async def diff(self, model: str, changes: list[Change]) -> dict[str, list[str]]:
        """LoopBack's `diff`: which of `changes` this store lacks (`missing`), and which would
        conflict (`conflicts`)."""

    @abc.abstractmethod
    async def apply(
        self, model: str, docs: list[Document], *, merge: Merge | None = None,
        check: Check | None = None, from_peer: bool = True, peer_current: bool = False,
    ) -> list[Outcome]:
        """LoopBack's bulk update: take revisions from another store, all in one transaction.

        Each document is fast-forwarded, recognised as already known, merged field by field, or
        reported as a conflict (recorded, both versions kept, nothing overwritten).
        `check(incoming, current)` may reject one (validation, access): it is skipped and the
        rest applies. `from_peer`: an applied revision becomes the merge base, since the peer
        holds it (a conflict resolution made here passes False). `peer_current`: the documents
        are what this store's one peer holds now (a client pulling from its server)."""

    @abc.abstractmethod
    async def mark_synced(self, model: str, docs: list[Document]) -> None:
        """A peer now holds these revisions: remember them as the merge base (not a change)."""

    @abc.abstractmethod
    async def note_sent(self, model: str, docs: list[Document]) -> None:
        """About to send `docs` to a peer whose answer may never arrive: from now on a local edit
        of any of them keeps the body it replaces until a peer acknowledges it."""

    @abc.abstractmethod
    async def saved_checkpoint(self, name: str) -> int | None:
        """The checkpoint a replication saved under `name` (None if none was)."""

    @abc.abstractmethod
    async def save_checkpoint(self, name: str, checkpoint: int) -> None:
        """Where a replication reached, so an interrupted one resumes there (not a change)."""

    @abc.abstractmethod
    async def conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        """(this store's document, the other side's revision) for every recorded conflict."""

    @abc.abstractmethod
    async def record_conflict(self, theirs: Document) -> None:
        """Keep the other side's revision of a document in conflict (until a resolution)."""

    @abc.abstractmethod
    async def pending(self, model: str, since: int = 0,
                      owner: str | tuple[str, ...] | None = None) -> int:
        """How many documents changed after `since` (for progress reports; without `owner` an
        upper bound is enough, with it exact: a user learns nothing about the others)."""

    async def readable_owners(self, model: str) -> tuple[str, ...] | None:
        """The owners whose documents of `model` this store's user may read, as its last feed
        page said (a server answering for a user with shared lists); None: no limit told."""
        return None

    async def evict(self, model: str, owners: tuple[str, ...]) -> tuple[int, int]:
        """Forget the documents the user may no longer read (see `LocalStore.evict`)."""
        return 0, 0

    @abc.abstractmethod
    async def purge_tombstones(self, model: str, through: int) -> int:
        """Forget tombstones written at or before checkpoint `through` (see docs/PROTOCOL.md)."""
