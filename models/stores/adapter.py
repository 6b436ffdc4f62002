"""The adapter interface: what a database implements so that `LocalStore` can keep documents in it.

`LocalStore` owns every rule (revision checks, merging, conflicts, acknowledgements, the purge
horizon); an adapter only stores and finds. It is async so that a network database (PostgreSQL)
never blocks the server's event loop; an embedded one (a dict, Web Storage, SQLite) simply never
suspends. Adding a database means implementing these two classes, nothing else: replication
and the models do not change. docs/ARCHITECTURE.md, "How to add a store", walks through it.

Every method is abstract but one, `create_mark`, whose default suits a database that one process
writes. Reads on the adapter see committed state. Writes happen only inside `transaction()`, through
the `Transaction` it yields, whose reads see the transaction's own writes; a transaction opened
while one is in progress joins it.
"""

from __future__ import annotations

import abc
from contextlib import AbstractAsyncContextManager

from ..document import Document
from ..filters import Query

Owners = str | tuple[str, ...] | None  # a feed's owner: one, any of several, or None (all)


def owner_tuple(owner: Owners) -> tuple[str, ...] | None:
    """`owner` as a tuple of owners (None: no limit)."""
    return (owner,) if isinstance(owner, str) else None if owner is None else tuple(owner)


class Transaction(abc.ABC):
    """The reads and writes of one all-or-nothing unit of work."""

    @abc.abstractmethod
    async def read_doc(self, model: str, id: str) -> Document | None:
        """The stored document or tombstone, with everything `put_doc` was given."""

    @abc.abstractmethod
    async def put_doc(self, doc: Document, *, new_checkpoint: bool = True) -> Document:
        """Store `doc` (replacing its previous version). With `new_checkpoint` it is a change:
        it gets the next sequence number, and a feed read after this transaction commits must
        never skip it; without, it keeps `doc.checkpoint` (bookkeeping, not a change).
        Returns the document as stored."""

    @abc.abstractmethod
    async def read_conflict(self, model: str, id: str) -> Document | None:
        """The other side's revision recorded for a document in conflict."""

    @abc.abstractmethod
    async def put_conflict(self, model: str, id: str, doc: Document | None) -> None:
        """Record (or, with None, forget) the other side's revision."""

    @abc.abstractmethod
    async def read_mark(self, name: str) -> int | None:
        """A named number the store keeps (saved checkpoints, `sent`, purge horizons)."""

    @abc.abstractmethod
    async def put_mark(self, name: str, value: int) -> None: ...

    async def prepare_writes(self, model: str, ids: list[str]) -> None:  # noqa: B027
        """A hint before many writes in this transaction: each of these documents is about to
        be read and written as a change. An adapter whose every read is a round trip may read
        what they need at once (the key-value core does); the default does nothing."""

    @abc.abstractmethod
    async def drop_tombstones(self, model: str, through: int) -> int:
        """Delete tombstones with checkpoint <= `through`; return how many."""

    @abc.abstractmethod
    async def forget_doc(self, model: str, id: str) -> None:
        """Remove the document and its change entirely, as if it had never been here (not a
        delete: no tombstone, nothing to replicate). What a device does with what its user may
        no longer read (`LocalStore.evict`)."""


class Adapter(abc.ABC):
    """A database that holds documents, conflicts and marks, and finds them."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """All writes inside happen, or none do."""

    @abc.abstractmethod
    async def read_doc(self, model: str, id: str) -> Document | None: ...

    @abc.abstractmethod
    async def query_docs(self, model: str, query: Query) -> list[Document]:
        """Live documents matching a normalized query (semantics of `models.filters.apply`),
        in its order, then by id."""

    @abc.abstractmethod
    async def count_docs(self, model: str, query: Query) -> int:
        """How many live documents match `query.where`."""

    @abc.abstractmethod
    async def feed_docs(
        self, model: str, since: int, limit: int, owner: Owners = None
    ) -> list[Document]:
        """Up to `limit` documents (tombstones too) with checkpoint > `since`, oldest first;
        with `owner` (one, or a tuple: any of them), only theirs. Must cost what changed, not
        what is stored."""

    @abc.abstractmethod
    async def count_changed(self, model: str, since: int, owner: Owners = None) -> int:
        """How many documents have checkpoint > `since` (exact with `owner`; without, an upper
        bound is enough)."""

    @abc.abstractmethod
    async def list_conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        """(stored document, other side's revision) for every recorded conflict, by id."""

    @abc.abstractmethod
    async def last_checkpoint(self) -> int:
        """The highest sequence number handed out so far."""

    @abc.abstractmethod
    async def read_mark(self, name: str) -> int | None: ...

    async def create_mark(self, name: str, value: int) -> int:
        """Set the mark `name` to `value` unless it is set already; return the value it holds
        afterwards. It must be atomic among every process that writes the database: two that
        create it at once agree on one value (the store's identity is made this way). This
        default, a read and a write in one transaction, is right for a database one process
        writes; a shared one overrides it (PostgreSQL: `INSERT ... ON CONFLICT DO NOTHING`, then
        the select)."""
        async with self.transaction() as tx:
            found = await tx.read_mark(name)
            if found is None:
                await tx.put_mark(name, value)
                found = value
        return found
