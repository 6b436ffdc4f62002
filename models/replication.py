"""`replicate(source, target, since)`: move every change from one store to another.

Pure logic over the store interface (PouchDB's lesson): it reads the source's feed after a
checkpoint in pages, hands each page to the target's bulk `apply` (one transaction per page), and
tells the source which revisions the target now holds so later edits can merge field by field.
With the local store's `Checkpoints` (models/checkpoints.py) it records, after every page, where
each model's pass reached, so an interrupted replication resumes after the last page that was
applied and acknowledged.
It knows nothing about SQLite, Web Storage or HTTP. `sync(local, remote)` is push then pull.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .changes import ChangeType
from .checkpoints import Checkpoints, Direction
from .conflict import Conflict
from .document import Document
from .errors import CheckpointExpiredError, StorageFullError
from .registry import MODELS
from .revisions import next_revision
from .stores.store import Store

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
    idle: bool = False  # a push with nothing to send: the peer was not asked anything

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @classmethod
    def combined(cls, results: Iterable[ReplicationResult]) -> ReplicationResult:
        """Several passes (e.g. one per model) as one: what `replicate` returns when it does them
        in one call. The checkpoint is the lowest: past it, one of the passes may have more."""
        results = list(results)
        total = cls(checkpoint=min((r.checkpoint for r in results), default=0))
        for result in results:
            total.conflicts += result.conflicts
            total.rejected += result.rejected
            total.resynced = total.resynced or result.resynced
            for status, n in result.counts.items():
                total.counts[status] = total.counts.get(status, 0) + n
        return total


def _default_models() -> Sequence[type]:
    return list(MODELS.values())


@dataclass(frozen=True)
class _Progress:
    """One direction of a `Checkpoints`: what a replication pass loads and saves per model,
    each checkpoint with `database`, the identity the peer named before the pass began."""

    checkpoints: Checkpoints
    direction: Direction
    database: int | None = None

    async def load(self, model: str) -> int | None:
        return await self.checkpoints.load(self.direction, model)

    async def save(self, model: str, checkpoint: int, *, resynced: bool = False) -> None:
        await self.checkpoints.save(self.direction, model, checkpoint, self.database,
                                    resynced=resynced)


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
    checkpoints: Checkpoints | None = None,
    peer_known: tuple[int | None, int] | None = None,
) -> ReplicationResult:
    """Copy every change of `source` after checkpoint `since` into `target`.

    `checkpoints`: the source's or the target's record of its replication with the other
    (`Checkpoints(local, peer)`; pushing when it is the source's, pulling when the target's).
    Each model starts from the checkpoint saved there (`since` only for a model with none saved
    yet), and the checkpoint reached is saved after every page, so a retry after an
    interruption re-sends at most the page that was cut off. A full resync saves only at its end:
    resumed halfway it could not tell purged documents from unseen ones, so it starts again.
    Each checkpoint is saved with the identity of the peer's database (`Store.identity`); when
    the peer names another one, or a pull checkpoint is above the peer's current checkpoint (a
    database restored from an older copy), both of the model's checkpoints are discarded and
    this pass is a full one: a pull reads everything from 0 (prunes nothing: a document the
    new database lacks was not deleted there), a push sends every document, even those the old
    database acknowledged. Unsynced local changes are sent like the rest; revisions the peer
    knows come back `unchanged`.
    `prune_unseen`: the source is the target's one peer (a client pulling from its server), so
    off by default. After a full resync (the checkpoint was older than the source's tombstone
    purge horizon), delete the target's documents that came from a peer, were not changed since,
    and that the source no longer has: they were deleted and purged there. And a document the
    source holds at an older revision than the target thought (the source lost the newer one
    with a purged tombstone) is sent again next time rather than taken as synced.
    `peer_known`: the peer's (identity, checkpoint) known without asking it (with `checkpoints`):
    a live poke's checkpoint, and the identity its last answer named. The peer is then not asked
    before the first page; an answer from another database still stops the pass
    (`DatabaseChangedError`), and a checkpoint above the poke's still means a restored database.
    `skip_synced`: do not send documents whose revision a peer already acknowledged (right when
    the target is that one peer: a client pushing to its server).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    saved, peer = None, None
    if checkpoints is not None:
        direction = checkpoints.direction(source, target)
        peer = _Peer(target if direction == "push" else source)
        # The peer's identity first (its checkpoint is read after it, in the same answer from a
        # server): a switch after it is seen by the next run, never missed.
        if peer_known is not None:
            identity, peer.now = peer_known
        else:
            identity, peer.now = await peer.store.identity_and_checkpoint()
        saved = _Progress(checkpoints, direction, identity)
    # every change at or below the ceiling is read by the passes
    ceiling = peer.now if peer is not None and source is peer.store else await source.checkpoint()
    result = ReplicationResult(checkpoint=since or 0)
    reached_per_model = []
    for model in models or _default_models():
        collection = model.collection
        start = await saved.load(collection) if saved is not None else None
        start = (since or 0) if start is None else start

        async def full_pass(model: type = model, prune: bool = prune_unseen) -> int:
            # A full pass, then (when asked) the target's copies of documents deleted on the
            # source and purged there are deleted too. See docs/PROTOCOL.md.
            result.resynced = True
            reached = await _replicate_model(source, target, 0, model, batch_size, on_progress,
                                             result, seen := set(), skip_synced=skip_synced,
                                             one_peer=prune_unseen)
            if prune:
                await _delete_unseen(target, model, seen, result, batch_size)
            return reached

        changed = False
        if saved is not None and peer is not None:
            changed = await saved.checkpoints.discarded(saved.direction, collection)
            if not changed and await _peer_changed(saved, collection, peer):
                await saved.checkpoints.discard(collection)  # both directions
                changed = True
        if changed and saved is not None:
            # The checkpoints were taken against another database (docs/PROTOCOL.md, "A server
            # that changed"): read everything (a document not there was not deleted there: it
            # was pushed first, or refused), or send everything, even what the old one held.
            if saved.direction == "pull":
                reached = await full_pass(prune=False)
            else:
                result.resynced = True
                reached = await _replicate_model(source, target, 0, model, batch_size,
                                                 on_progress, result, set())
        elif prune_unseen and start == 0 and await _has_purged(source, collection) \
                and await _holds_synced(target, collection, batch_size):
            # Reading from 0 is never refused, yet this store holds documents its peer
            # acknowledged (pushed while no pull got through) and the peer purged tombstones:
            # some of those documents may be among them, so this first pull is a full pass.
            reached = await full_pass()
        else:
            try:
                reached = await _replicate_model(source, target, start, model, batch_size,
                                                 on_progress, result, skip_synced=skip_synced,
                                                 saved=saved, one_peer=prune_unseen)
            except CheckpointExpiredError:  # tombstones after `start` were purged on the source
                reached = await full_pass()
        reached = max(reached, ceiling)
        if prune_unseen:
            await _forget_unreadable(source, target, collection, result)
        if saved is not None:
            await saved.save(collection, reached, resynced=changed)
        reached_per_model.append(reached)
    # The lowest model's position: a write to one model while another replicates is not skipped.
    result.checkpoint = min(reached_per_model, default=since or 0)
    return result


async def _nothing_to_push(kept: Checkpoints, models: Sequence[type], batch_size: int) -> bool:
    """Whether a push would send nothing: every model's push checkpoint is saved and settled,
    and every local change after it came from the peer (what `skip_synced` leaves out). Then
    the push checkpoints move to the local checkpoint, as that push would have saved them, and
    the peer is asked nothing (a poke's sync is then a pull alone); a peer's database that
    changed is still found by the pull."""
    local = kept.store
    now = await local.checkpoint()
    for model in models:
        cursor = await kept.load("push", model.collection)
        if cursor is None or await kept.discarded("push", model.collection):
            return False
        while docs := await local.feed(model.collection, cursor, batch_size):
            if any(doc.base_rev != doc.rev for doc in docs):
                return False
            cursor = docs[-1].checkpoint
    for model in models:
        if now > (await kept.load("push", model.collection) or 0):
            await kept.save("push", model.collection, now)
    return True


@dataclass
class _Peer:
    """The other side of a replication whose progress a `Checkpoints` keeps, and its current
    checkpoint, asked once with its identity."""

    store: Store
    now: int | None = None

    async def checkpoint(self) -> int:
        if self.now is None:
            self.now = await self.store.checkpoint()
        return self.now


async def _peer_changed(saved: _Progress, collection: str, peer: _Peer) -> bool:
    """Whether the checkpoints saved for `collection` were taken against another database than
    the peer's now: saved with another identity, or a pull checkpoint above the peer's current
    one (its database was restored from an older copy, which has the same identity)."""
    checkpoints = saved.checkpoints
    known = await checkpoints.database(saved.direction, collection)
    if saved.database is not None and known is not None and known != saved.database:
        return True
    pulled = await checkpoints.load("pull", collection)
    return pulled is not None and pulled > await peer.checkpoint()


async def _replicate_model(
    source: Store, target: Store, since: int, model: type, batch_size: int,
    on_progress: Progress | None, result: ReplicationResult, seen: set[str] | None = None,
    *, skip_synced: bool = False, saved: _Progress | None = None, one_peer: bool = False,
) -> int:
    """One model's pass; with `seen` it is a full resync and collects the ids it met. With
    `saved`, the last doc's checkpoint of each page is saved once the page is acknowledged: the
    feed is in checkpoint order, so every change of the model at or below it was applied."""
    collection = model.collection
    cursor = since
    total: int | None = None  # known from the first page when the source counts with it
    done = 0
    while True:
        # In a full resync, note the source's checkpoint before the read that comes back empty:
        # nothing at or below it is left unread, so the next `since` can start past the horizon.
        ceiling = await source.checkpoint() if seen is not None else cursor
        docs, remaining = await source.feed_counted(collection, cursor, batch_size,
                                                    full=seen is not None)
        if total is None:
            total = len(docs) + remaining if remaining is not None else await source.pending(
                collection, since)
            await _report(on_progress, 0, total)
        if not docs:
            return max(cursor, ceiling)
        if seen is not None:
            seen.update(doc.id for doc in docs)
        cursor = docs[-1].checkpoint
        done += len(docs)
        if skip_synced:
            docs = [doc for doc in docs if doc.base_rev != doc.rev]
        if docs:
            await _send_page(source, target, model, docs, result, one_peer)
        if saved is not None:
            await saved.save(collection, cursor)
        await _report(on_progress, done, max(total, done))
        if remaining == 0:  # the source said nothing follows: no request for an empty page
            return max(cursor, ceiling)


async def _send_page(source: Store, target: Store, model: type, docs: list[Document],
                     result: ReplicationResult, one_peer: bool = False) -> None:
    """One page to the target; then the source learns which revisions the target holds.
    `one_peer`: the source is the target's one peer (a client pulling from its server)."""
    collection = model.collection
    # Noted before sending: the answer may never come. A store too full to note it can cost a
    # conflict after a lost answer, never a write.
    with contextlib.suppress(StorageFullError):
        await source.note_sent(collection, docs)
    extra = {"peer_current": True} if one_peer else {}
    outcomes = await target.apply(collection, docs, merge=model.merge,
                                  check=model.check_replicated, **extra)
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
                                    "error": outcome.error, "model": collection})
    await source.mark_synced(collection, held)


async def _forget_unreadable(source: Store, target: Store, collection: str,
                             result: ReplicationResult) -> None:
    """After a pull from its server: when the server said which owners the user may read now
    (documents that belong to shared lists), the target forgets what it holds of any other (a
    list unshared, even while this device was offline), keeping unsynced edits aside."""
    owners = await source.readable_owners(collection)
    if owners is None:
        return
    forgotten, kept = await target.evict(collection, owners)
    for status, n in (("evicted", forgotten), ("kept", kept)):
        if n:
            result.counts[status] = result.counts.get(status, 0) + n


async def _set_aside_refused(local: Store, push: ReplicationResult) -> None:
    """Writes the server refused as not allowed go aside on the device, kept, each document
    back to what the server holds (`LocalStore.set_aside`): resent, they would be refused
    forever, and the device would hold what the server never will."""
    refused: dict[str, list[str]] = {}
    for rejected in push.rejected:
        if (rejected.get("error") or {}).get("code") == "ACCESS_DENIED" and "model" in rejected:
            refused.setdefault(rejected["model"], []).append(rejected["id"])
    set_aside = getattr(local, "set_aside", None)
    for collection, ids in refused.items() if set_aside is not None else ():
        if kept := await set_aside(collection, ids):
            push.counts["kept"] = push.counts.get("kept", 0) + kept


async def _has_purged(source: Store, collection: str) -> bool:
    """Whether the source purged tombstones after its first write (reading after 1 is refused;
    a purge through 1 cannot have dropped the delete of a document written before it)."""
    try:
        await source.feed(collection, 1, 0)
    except CheckpointExpiredError:
        return True
    return False


async def _holds_synced(store: Store, collection: str, batch_size: int) -> bool:
    """Whether `store` holds a live document its peer acknowledged (its merge base is itself)."""
    cursor = 0
    while page := await store.feed(collection, cursor, batch_size, full=True):
        if any(doc.base_rev == doc.rev and not doc.deleted for doc in page):
            return True
        cursor = page[-1].checkpoint
    return False


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
    peer: str | None = None,
    poked: tuple[int | None, int] | None = None,
) -> SyncResult:
    """Push local changes, then pull remote ones. Conflicts come back seen from the local side
    (source = remote, target = local) and are recorded locally, so they can be resolved offline.

    With `peer` (a name for `remote`, e.g. "server"), `local` keeps the progress of both
    directions page by page in its `Checkpoints(local, peer)`: the next sync, or a
    retry after a failure halfway, starts where the last acknowledged page ended. `checkpoints`
    are then only where to start for a model with nothing saved yet. Without `peer`, the caller
    keeps `result.checkpoints` and passes them next time.

    `poked` (with `peer`): the remote's (identity, checkpoint) from a live poke (the identity its
    last answer named, the checkpoint the poke carried). The pull then starts with its first page,
    without asking the remote where it is (`replicate`'s `peer_known`): with nothing to push, a
    poke's sync is one request."""
    checkpoints = checkpoints or {}

    def phase(name: str) -> Progress | None:
        if on_progress is None:
            return None
        return lambda done, total: on_progress(name, done, total)

    kept = None if peer is None else Checkpoints(local, peer)

    async def push_pass() -> ReplicationResult:
        return await replicate(local, remote, checkpoints.get("push"), models=models,
                               batch_size=batch_size, on_progress=phase("push"),
                               skip_synced=True, checkpoints=kept)

    async def pull_pass() -> ReplicationResult:
        return await replicate(remote, local, checkpoints.get("pull"), models=models,
                               batch_size=batch_size, on_progress=phase("pull"),
                               prune_unseen=True, checkpoints=kept, peer_known=known)

    known = poked if kept is not None else None
    push = ReplicationResult(checkpoint=0, idle=True)
    if kept is None or not await _nothing_to_push(kept, models or _default_models(), batch_size):
        push = await push_pass()
    await _set_aside_refused(local, push)
    pull = await pull_pass()
    if push.idle and pull.resynced:
        # The pull found another database behind the peer: what the old one acknowledged goes
        # to the new one now, as a push that had asked first would have sent it, and is read
        # back as the sync that began with that push would have.
        push = await push_pass()
        known = None
        pull = ReplicationResult.combined([pull, await pull_pass()])
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
