"""Purged tombstones: an expired checkpoint forces a full resync, which still drops what
was deleted and keeps local work."""

from __future__ import annotations

from models import CheckpointExpiredError

from .helpers import FakeClock, raises
from .peers import make_peer, replicate_todos, seed_todos, todos_on
from .registry import case


async def _purge_then_resync(store, *, write_after_purge: bool, batch_size: int = 500):
    clock = FakeClock()
    made = await seed_todos(store, 4, clock)
    target = make_peer()
    old = await replicate_todos(store, target)
    T = todos_on(target, clock)
    await T.create(id="local-only", title="never synced", order=9)
    clock.tick()
    await (await T.find_by_id("t3")).update(title="edited on the target")
    await made[0].delete()
    await made[1].delete()
    await store.purge_tombstones("todos", await store.checkpoint())
    assert await store.get_any("todos", "t0") is None, "the tombstone was not purged"
    await raises(CheckpointExpiredError, store.feed("todos", old.checkpoint))
    if write_after_purge:
        await todos_on(store, clock).create(id="after", title="after the purge", order=5)
    result = await replicate_todos(store, target, old.checkpoint, batch_size=batch_size,
                                   prune_unseen=True)
    assert result.resynced, "an expired checkpoint must lead to a full resync"
    for id in ("t0", "t1"):
        doc = await target.get_any("todos", id)
        assert doc is not None and doc.deleted, f"{id} was deleted and purged on the source, " \
            f"but the target kept {doc}"
    assert await T.find_by_id("local-only") is not None, "a never-synced local todo was dropped"
    assert (await T.find_by_id("t3")).title == "edited on the target", "a local edit was lost"
    assert (await T.find_by_id("t2")) is not None
    if write_after_purge:
        assert (await T.find_by_id("after")) is not None
    again = await replicate_todos(store, target, result.checkpoint)
    assert not again.resynced and again.counts == {}, again


@case
async def repl_purged_tombstones_force_full_resync(store):
    await _purge_then_resync(store, write_after_purge=True)


@case
async def repl_full_resync_pages_below_the_horizon(store):
    """The full pass reads pages whose checkpoints are below the horizon: it must not stop there
    (here the newest surviving change is older than the purge horizon)."""
    await _purge_then_resync(store, write_after_purge=False)


@case
async def repl_full_resync_in_small_pages(store):
    await _purge_then_resync(store, write_after_purge=True, batch_size=1)


@case
async def repl_checkpoint_newer_than_horizon_is_incremental(store):
    made = await seed_todos(store, 4)
    await made[0].delete()
    horizon = await store.checkpoint()
    target = make_peer()
    first = await replicate_todos(store, target)
    await store.purge_tombstones("todos", horizon)
    await made[1].update(title="after the purge")
    result = await replicate_todos(store, target, first.checkpoint)
    assert not result.resynced, "a checkpoint at the horizon must not force a resync"
    assert result.counts == {"applied": 1}, result.counts
    assert len(await store.feed("todos", first.checkpoint)) == 1
