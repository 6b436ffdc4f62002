"""Bringing what a local store holds to the current version of each model, when it is opened.

A store keeps, per model, the version its documents were written under (the mark
`version:<model>`; no mark is version 1, so every store written before versions existed reads).
`migrate_store` migrates every document of an older version (data, merge base, unacknowledged
bodies) and both sides of its conflicts, in pages of `batch_size` documents, one transaction
per page that also records how far it got (the mark `migrating:<model>`, a checkpoint: the feed
is in checkpoint order and a migrated document keeps its checkpoint). A start interrupted
between two pages resumes after the last page it committed, so no document is migrated twice
and none is lost; the version mark moves only in the last transaction. Between pages it yields
to the event loop and reports progress, so a page stays responsive over a large store.

Revisions and checkpoints do not change: a migration is not a change to replicate (every side
migrates the same revision to the same body), so nothing is pushed or pulled again.
It runs at start-up, before anything writes to the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..migrations import check_path, migrate_document, version_of
from .local import LocalStore

VERSION_MARK = "version:"  # + model: the version the store's documents are written under
PROGRESS_MARK = "migrating:"  # + model: checkpoint through which a migration under way got
MIGRATION_BATCH = 200

Progress = Callable[[str, int, int], "Awaitable[None] | None"]  # (model, done, total)


async def stored_version(store: LocalStore, collection: str) -> int:
    """The version the store's documents of `collection` are written under (1 without mark)."""
    return await store.adapter.read_mark(VERSION_MARK + collection) or 1


async def migrate_store(store: LocalStore, models: Iterable[Any], *,
                        batch_size: int = MIGRATION_BATCH,
                        on_progress: Progress | None = None) -> dict[str, int]:
    """Migrate every model's documents written under an older version; returns how many
    documents each model had migrated. Raises ModelVersionError (naming the model and version)
    when the stored version has no path to the current one, before anything is written."""
    models = list(models)
    for model in models:
        check_path(model, await stored_version(store, model.collection))
    done = {}
    for model in models:
        done[model.collection] = await _migrate_model(store, model, batch_size, on_progress)
    return done


async def _migrate_model(store: LocalStore, model: Any, batch_size: int,
                         on_progress: Progress | None) -> int:
    adapter, collection = store.adapter, model.collection
    stored, target = await stored_version(store, collection), version_of(model)
    if stored == target:
        return 0
    through = await adapter.read_mark(PROGRESS_MARK + collection) or 0
    total = await adapter.count_changed(collection, through, None)
    done = 0
    await _report(on_progress, collection, done, total)
    while True:
        docs = await adapter.feed_docs(collection, through, batch_size, None)
        if not docs:
            break
        async with adapter.transaction() as tx:
            for doc in docs:
                await tx.put_doc(migrate_document(model, doc, stored), new_checkpoint=False)
                theirs = await tx.read_conflict(collection, doc.id)
                if theirs is not None:
                    await tx.put_conflict(collection, doc.id,
                                          migrate_document(model, theirs, stored))
            through = docs[-1].checkpoint
            await tx.put_mark(PROGRESS_MARK + collection, through)
        done += len(docs)
        await _report(on_progress, collection, done, max(total, done))
        await asyncio.sleep(0)  # let the page paint between pages
    if done != total:
        await _report(on_progress, collection, done, done)  # `total` was an upper bound
    async with adapter.transaction() as tx:
        for mine, theirs in await adapter.list_conflicts(collection):
            if mine is None:  # a conflict without a local document: not met in the feed
                await tx.put_conflict(collection, theirs.id,
                                      migrate_document(model, theirs, stored))
        await tx.put_mark(VERSION_MARK + collection, target)
        await tx.put_mark(PROGRESS_MARK + collection, 0)
    return done


async def _report(on_progress: Progress | None, model: str, done: int, total: int) -> None:
    if on_progress is not None:
        result = on_progress(model, done, total)
        if result is not None:
            await result


__all__ = ["MIGRATION_BATCH", "PROGRESS_MARK", "VERSION_MARK", "migrate_store",
           "stored_version"]
