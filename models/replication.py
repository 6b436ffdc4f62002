"""`replicate(source, target, since)`: move every change from one store to another.

Pure logic over the store interface (PouchDB's lesson): it reads the source's feed after a
checkpoint in pages, hands each page to the target's bulk `apply` (one transaction per page), and
tells the source which revisions the target now holds so later edits can merge field by field.
It knows nothing about SQLite, Web Storage or HTTP. `sync(local, remote)` is push then pull.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .changes import ChangeType
from .conflict import Conflict
from .revisions import next_revision
from .stores.base import CheckpointExpiredError, Document, Store

DEFAULT_BATCH_SIZE = 500

Progress = Callable[[int, int], Any]  # (done, total) -> maybe awaitable


@dataclass
class ReplicationResult:
    """What one replication did. Pass `checkpoint` as `since` next time."""

    checkpoint: int
    conflicts: list[Conflict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    resynced: bool = False

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


def _default_models() -> Sequence[type]:
    from . import MODELS

    return list(MODELS.values())


async def _report(on_progress: Progress | None, done: int, total: int) -> None:
    if on_progress is not None:
        result = on_progress(done, total)
        if inspect.isawaitable(result):
            await result


async def replicate(
    source: Store,
    target: Store,
    since: int | None = None,
    *,
    models: Sequence[type] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Progress | None = None,
    prune_unseen: bool = False,
    skip_synced: bool = False,
) -> ReplicationResult:
    """Copy every change of `source` after checkpoint `since` into `target`.

    `prune_unseen`: after a full resync (the checkpoint was older than the source's tombstone
    purge horizon), delete the target's documents that came from a peer, were not changed since,
    and that the source no longer has: they were deleted and purged there. Only right when the
    source is the target's one peer (a client pulling from its server), so it is off by default.
    `skip_synced`: do not send documents whose revision a peer already acknowledged (right when
    the target is that one peer: a client pushing to its server).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    start = since or 0
    ceiling = await source.checkpoint()  # every change at or below it is read by the passes
    result = ReplicationResult(checkpoint=start)
    reached_per_model = []
    for model in models or _default_models():
        try:
            reached = await _replicate_model(source, target, start, model, batch_size,
                                             on_progress, result, skip_synced=skip_synced)
        except CheckpointExpiredError:
            # Tombstones after `since` were purged on the source: a full pass, then (when asked)
            # the target's copies of purged documents are deleted. See docs/PROTOCOL.md.
            result.resynced = True
            reached = await _replicate_model(source, target, 0, model, batch_size, on_progress,
                                             result, seen := set(), skip_synced=skip_synced)
            if prune_unseen:
                await _delete_unseen(target, model, seen, result, batch_size)
        reached_per_model.append(max(reached, ceiling))
    # The lowest model's position: a write to one model while another replicates is not skipped.
    result.checkpoint = max(start, min(reached_per_model, default=start))
    return result


async def _replicate_model(
    source: Store, target: Store, since: int, model: type, batch_size: int,
    on_progress: Progress | None, result: ReplicationResult, seen: set[str] | None = None,
    *, skip_synced: bool = False,
) -> int:
    """One model's pass; with `seen` it is a full resync and collects the ids it met."""
    collection = model.collection
    cursor = since
    total = await source.pending(collection, since)
    done = 0
    await _report(on_progress, done, total)
    while True:
        # In a full resync, note the source's checkpoint before the read that comes back empty:
        # nothing at or below it is left unread, so the next `since` can start past the horizon.
        ceiling = await source.checkpoint() if seen is not None else cursor
        docs = await source.feed(collection, cursor, batch_size, full=seen is not None)
        if not docs:
            return max(cursor, ceiling)
        if seen is not None:
            seen.update(doc.id for doc in docs)
        cursor = docs[-1].checkpoint
        done += len(docs)
        if skip_synced:
            docs = [doc for doc in docs if doc.base_rev != doc.rev]
            if not docs:
                await _report(on_progress, done, max(total, done))
                continue
        outcomes = await target.apply(collection, docs, merge=model.merge,
                                      check=model.check_replicated)
        by_id = {doc.id: doc for doc in docs}
        held = []
        for outcome in outcomes:
            result.counts[outcome.status] = result.counts.get(outcome.status, 0) + 1
            sent = by_id[outcome.id]
            if outcome.status in ("applied", "unchanged", "merged"):
                held.append(sent)
            elif outcome.status == "conflict":
                result.conflicts.append(Conflict(model, sent, outcome.current, target, source))
            else:
                result.rejected.append({"id": outcome.id, "rev": outcome.rev,
                                        "error": outcome.error})
        await source.mark_synced(collection, held)
        await _report(on_progress, done, max(total, done))


async def _delete_unseen(target: Store, model: type, seen: set[str],
                         result: ReplicationResult, batch_size: int) -> None:
    collection = model.collection
    unseen, cursor = [], 0
    while page := await target.feed(collection, cursor, batch_size, full=True):
        cursor = page[-1].checkpoint
        unseen += [doc for doc in page
                   if doc.id not in seen and not doc.deleted and doc.base_rev == doc.rev]
    tombstones = [
        Document(collection, doc.id, next_revision(doc.rev, None, True), 0, True, None,
                 ChangeType.DELETE, (doc.rev, *doc.history), owner=doc.owner)
        for doc in unseen
    ]
    if tombstones:
        await target.apply(collection, tombstones)
        result.counts["purged"] = result.counts.get("purged", 0) + len(tombstones)


@dataclass
class SyncResult:
    push: ReplicationResult
    pull: ReplicationResult
    conflicts: list[Conflict]

    @property
    def checkpoints(self) -> dict[str, int]:
        """Keep this and pass it to the next `sync` call."""
        return {"push": self.push.checkpoint, "pull": self.pull.checkpoint}


async def sync(
    local: Store,
    remote: Store,
    checkpoints: dict[str, int] | None = None,
    *,
    models: Sequence[type] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[str, int, int], Any] | None = None,
) -> SyncResult:
    """Push local changes, then pull remote ones. Conflicts come back seen from the local side
    (source = remote, target = local) and are recorded locally, so they can be resolved offline."""
    checkpoints = checkpoints or {}

    def phase(name: str) -> Progress | None:
        if on_progress is None:
            return None
        return lambda done, total: on_progress(name, done, total)

    push = await replicate(local, remote, checkpoints.get("push"), models=models,
                           batch_size=batch_size, on_progress=phase("push"), skip_synced=True)
    pull = await replicate(remote, local, checkpoints.get("pull"), models=models,
                           batch_size=batch_size, on_progress=phase("pull"), prune_unseen=True)
    found: dict[tuple[str, str], Conflict] = {
        (c.model.collection, c.id): c for c in pull.conflicts
    }
    for conflict in push.conflicts:
        key = (conflict.model.collection, conflict.id)
        if key not in found and conflict.target_doc is not None:
            local_view = conflict.swap_parties()
            await local.record_conflict(local_view.source_doc)
            found[key] = local_view
    return SyncResult(push, pull, list(found.values()))
