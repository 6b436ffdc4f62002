"""What a device kept when its user lost access: the edits they made, unsynced, to documents of a
list that was unshared from them meanwhile (`LocalStore.evict`).

The server refuses those edits (the user may no longer write there), and the device forgets the
list and its documents at the next sync; what the user wrote is not dropped silently but kept
here, outside replication, to be shown and exported until the user dismisses it.
"""

from __future__ import annotations

import json

from .document import Document
from .filters import Query
from .stores.local import KEPT_PREFIX, LocalStore


async def kept_documents(store: LocalStore, collection: str) -> list[Document]:
    """The kept documents of `collection`, by id."""
    return await store.adapter.query_docs(KEPT_PREFIX + collection,
                                          Query(order=(("id", False),)))


def export(kept: dict[str, list[Document]]) -> str:
    """The kept documents as JSON text (per collection: id, revision and body), to save."""
    return json.dumps({collection: [{"id": doc.id, "rev": doc.rev, "data": doc.data}
                                    for doc in docs] for collection, docs in kept.items()},
                      ensure_ascii=False, indent=1)


async def dismiss(store: LocalStore, collection: str, ids: list[str] | None = None) -> int:
    """Forget kept documents of `collection` (`ids`, or all of them): the user saw them."""
    docs = await kept_documents(store, collection)
    gone = [doc for doc in docs if ids is None or doc.id in ids]
    if gone:
        async with store.adapter.transaction() as tx:
            for doc in gone:
                await tx.forget_doc(KEPT_PREFIX + collection, doc.id)
    return len(gone)


__all__ = ["dismiss", "export", "kept_documents"]
