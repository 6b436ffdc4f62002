"""An interrupted sync resumes after its last acknowledged page, per peer."""

from __future__ import annotations

from models import Todo, TransportError, WebStorageStore, sync

from .helpers import FakeClock, Item
from .peers import LosingAnswers, live, seed_todos, todos_on, try_sync
from .registry import case
from .storages import FailingStorage


async def sync_until_done(local, remote, models=(Todo,), attempts: int = 100, **kw):
    """Sync with `peer`, retrying after every lost answer: (result, interruptions)."""
    for interruptions in range(attempts):
        try:
            return await sync(local, remote, models=list(models), peer="server", **kw), \
                interruptions
        except TransportError:
            continue
    raise AssertionError(f"no sync finished in {attempts} attempts")


@case
async def resume_interrupted_pull_repulls_at_most_a_page_each_time(store):
    remote = LosingAnswers(fail_every=3)
    await seed_todos(remote, 240)
    result, interruptions = await sync_until_done(store, remote, batch_size=20)
    assert interruptions >= 4, f"only {interruptions} interruptions: the case tests nothing"
    assert remote.served <= 240 + 20 * interruptions, (
        f"{remote.served} docs served for 240 after {interruptions} interruptions: a retry "
        "pulled more again than the page that was cut off")
    assert await live(store) == await live(remote)
    remote.fail_every = None
    again = await sync(store, remote, models=[Todo], peer="server")
    assert again.pull.counts == {} and again.push.counts == {}, "a finished sync moved again"


@case
async def resume_interrupted_push_resends_at_most_a_page_each_time(store):
    remote = LosingAnswers(fail_every=3)
    await seed_todos(store, 240)
    result, interruptions = await sync_until_done(store, remote, batch_size=20)
    assert interruptions >= 4, f"only {interruptions} interruptions"
    assert remote.received <= 240 + 20 * interruptions, (
        f"{remote.received} docs pushed for 240 after {interruptions} interruptions")
    assert await live(store) == await live(remote)
    unacked = [d.id for d in await store.feed("todos", 0, 10**9) if d.base_rev != d.rev]
    assert unacked == [], f"pushed but never acknowledged: {unacked[:5]}"


@case
async def resume_never_skips_a_change_made_meanwhile(store):
    """Writes on both sides between interruptions, and two models: every change arrives."""
    remote = LosingAnswers()
    clock = FakeClock()
    await seed_todos(remote, 30, clock)
    for i in range(10):
        await Item.using(remote).create(id=f"i{i}", name=f"item {i}")
    await seed_todos(store, 10, clock, prefix="mine")
    remote.lose_feed_at = 2  # the second page of the first model's pull
    assert await try_sync(store, remote, (Todo, Item), batch_size=8, peer="server") is None
    clock.tick()
    await (await todos_on(remote, clock).find_by_id("t0")).update(title="changed since")
    await todos_on(remote, clock).create(id="late", title="written meanwhile", order=99)
    await (await todos_on(store, clock).find_by_id("mine0")).update(title="mine changed")
    remote.lose_feed_at = 3  # now in the second model's pass
    for _ in range(3):
        done = await try_sync(store, remote, (Todo, Item), batch_size=8, peer="server")
        if done is not None:
            break
    assert done is not None
    for model in ("todos", "items"):
        assert await live(store, model) == await live(remote, model), f"{model} differs"
    assert (await store.get("todos", "t0")).data["title"] == "changed since"
    assert (await remote.get("todos", "mine0")).data["title"] == "mine changed"


@case
async def resume_interrupted_full_resync_starts_again_from_zero(store):
    """A resync after a tombstone purge cut off halfway restarts from 0 (resumed halfway it
    could not tell a purged document from one it has not read yet)."""
    remote = LosingAnswers()
    made = await seed_todos(remote, 12)
    await sync_until_done(store, remote, batch_size=4)
    for todo in made[:3]:
        await todo.delete()
    await seed_todos(remote, 2, prefix="new")
    await remote.purge_tombstones("todos", await remote.checkpoint())
    await todos_on(store).create(id="local", title="only here", order=50)
    remote.lose_feed_at = 2
    assert await try_sync(store, remote, batch_size=4, peer="server") is None
    result, _ = await sync_until_done(store, remote, batch_size=4)
    assert result.pull.resynced and result.pull.count("purged") == 3, result.pull.counts
    assert sorted(id for id in await live(store)) == sorted(await live(remote))
    assert "local" in await live(remote), "the local-only todo was pushed, not pruned"


@case(store_independent=True)
async def ws_full_storage_never_fails_a_sync_for_its_bookkeeping():
    """The `sent` mark and the saved checkpoints are savings: a storage too full to take them
    still pushes (a retry then moves a page again)."""
    for fail_at in (1, 3):  # the `sent` mark; the push's saved checkpoint
        storage = FailingStorage()
        local, remote = WebStorageStore(storage, app="f"), LosingAnswers()
        await seed_todos(local, 1)
        storage.arm(fail_set_at=fail_at)
        result = await sync(local, remote, models=[Todo], peer="server")
        storage.disarm()
        assert result.push.count("applied") == 1, (fail_at, result.push.counts)
        assert await live(remote) == await live(local), fail_at


@case
async def resume_progress_is_kept_per_peer(store):
    """Two servers, two records: one's checkpoints never decide what is read from the other."""
    first, second = LosingAnswers(), LosingAnswers()
    await seed_todos(first, 5, prefix="a")
    await seed_todos(second, 3, prefix="b")
    await sync(store, first, models=[Todo], peer="first")
    await sync(store, second, models=[Todo], peer="second")
    assert sorted(await live(store)) == sorted([*await live(first), *await live(second)])
    assert await store.saved_checkpoint("first:pull:todos") == await first.checkpoint()
    assert await store.saved_checkpoint("second:pull:todos") == await second.checkpoint()
