"""A server that changed under its clients: every database has an identity, a client whose
checkpoints were taken against another database (a switch to a new one, or the same one restored
from an older copy) resyncs fully, keeping and pushing its unsynced changes."""

from __future__ import annotations

from models import (
    Checkpoints,
    DictStorage,
    MemoryStore,
    Todo,
    WebStorageStore,
    stored_conflicts,
    sync,
)

from .helpers import FakeClock, delete_todo, edit_todo
from .peers import LosingAnswers, live, make_peer, seed_todos, state, todos_on, try_sync
from .registry import case


async def sync_todos(local, remote, **kw):
    return await sync(local, remote, models=[Todo], peer="server", **kw)


def copy_of(storage: DictStorage) -> DictStorage:
    """A copy of a Web Storage, as a backup of a database file is."""
    copy = DictStorage()
    for index in range(storage.length):
        key = storage.key(index)
        copy.setItem(key, storage.getItem(key))
    return copy


async def assert_no_op(local, remote, what: str) -> None:
    again = await sync_todos(local, remote)
    assert not again.push.resynced and not again.pull.resynced, f"{what}: resynced again"
    assert again.push.counts == {} and again.pull.counts == {}, \
        f"{what}: the next sync moved {again.push.counts} / {again.pull.counts}"


class NamesNoDatabase(MemoryStore):
    """A server of an older version: its answers name no database."""

    async def identity(self):
        return None


@case
async def identity_is_made_once_and_kept(store):
    first = await store.identity()
    assert isinstance(first, int) and 2**52 <= first < 2**53, first
    assert await store.identity() == first, "the identity changed between two calls"
    assert await MemoryStore().identity() != first, "two databases share an identity"
    storage = DictStorage()
    made = await WebStorageStore(storage).identity()
    assert await WebStorageStore(storage).identity() == made, "reopened, it has another identity"
    assert await WebStorageStore(copy_of(storage)).identity() == made, \
        "a copy of the database must keep its identity"


@case
async def a_client_follows_a_switch_to_another_database(store):
    clock = FakeClock()
    a, b, other = make_peer(), make_peer(), make_peer()
    await seed_todos(other, 30, clock, prefix="a")  # A's checkpoint ends far above B's
    await sync_todos(other, a)
    T = todos_on(store, clock)
    await T.create(id="mine", title="made here, synced with A", order=1)
    await sync_todos(store, a)
    await seed_todos(b, 3, clock, prefix="b")
    assert await b.checkpoint() < await a.checkpoint()
    clock.tick()  # offline edits before the switch: never pushed to A
    await edit_todo(T, "a1", title="edited offline")
    await T.create(id="offline", title="made offline", order=2)
    await delete_todo(T, "a2")

    first = await sync_todos(store, b)
    assert first.push.resynced and first.pull.resynced, "another database: a full resync"
    assert first.conflicts == [] and first.push.rejected == [], first
    expected = ({f"a{i}" for i in range(30)} - {"a2"}) | {"mine", "offline", "b0", "b1", "b2"}
    assert set(await live(store)) == expected, sorted(await live(store))
    assert await live(b) == await live(store), "B does not hold what the client holds"
    assert (await b.get("todos", "a1")).data["title"] == "edited offline"
    gone = await b.get_any("todos", "a2")
    assert gone is not None and gone.deleted, "the offline delete did not reach B"
    assert first.push.count("applied") == 31 + 1, first.push.counts  # a0-a29, mine, offline
    assert first.pull.count("applied") == 3, first.pull.counts  # b0-b2 only
    await assert_no_op(store, b, "after the switch")


@case
async def a_restored_database_is_resynced_with_nothing_missed(store):
    clock = FakeClock()
    storage = DictStorage()
    server, other = WebStorageStore(storage), make_peer()
    await seed_todos(other, 4, clock, prefix="o")
    await sync_todos(other, server)
    T = todos_on(store, clock)
    await T.create(id="early", title="before the backup", order=1)
    await sync_todos(store, server)
    backup = copy_of(storage)  # the database file copied mid-way
    clock.tick()
    await seed_todos(other, 5, clock, prefix="late")
    await edit_todo(todos_on(other, clock), "o1", title="edited after the backup")
    await sync_todos(other, server)
    await T.create(id="pushed", title="acknowledged by the lost database", order=2)
    await edit_todo(T, "o2", title="client edit after the backup")
    await sync_todos(store, server)
    await T.create(id="unsynced", title="not pushed before the restore", order=3)

    restored = WebStorageStore(backup)  # the copy put back, with the same identity
    newcomer = make_peer()  # a client that writes to the restored database first
    await todos_on(newcomer, clock).create(id="after", title="after the restore", order=4)
    await sync_todos(newcomer, restored)

    result = await sync_todos(store, restored)
    assert result.push.resynced and result.pull.resynced, "a restored database: full resync"
    assert await live(restored) == await live(store), "client and restored database differ"
    held = await live(store)
    for id in ("early", "pushed", "unsynced", "after", "late0", "late4", "o0", "o3"):
        assert id in held, f"{id} is missing after the resync: {sorted(held)}"
    assert held["o1"][1]["title"] == "edited after the backup"
    assert held["o2"][1]["title"] == "client edit after the backup"
    assert result.conflicts == [], result.conflicts
    await assert_no_op(store, restored, "after the restore")
    assert await restored.identity() == await server.identity(), "a copy keeps the identity"


@case
async def an_older_server_restored_is_still_caught_by_its_checkpoint(store):
    """A server that names no database: a checkpoint above its own still means a restore."""
    server, clock = NamesNoDatabase(), FakeClock()
    await seed_todos(server, 3, clock, prefix="s")
    first = await sync_todos(store, server)
    assert first.pull.count("applied") == 3 and not first.pull.resynced
    await assert_no_op(store, server, "an older server")
    await seed_todos(store, 2, clock, prefix="c")
    restored = NamesNoDatabase()  # restored from before anything was written
    await todos_on(restored, clock).create(id="after", title="after the restore", order=9)
    result = await sync_todos(store, restored)
    assert result.pull.resynced and result.push.resynced, result
    assert set(await live(restored)) == {"s0", "s1", "s2", "c0", "c1", "after"}
    assert await live(restored) == await live(store)
    await assert_no_op(store, restored, "after the restore")


@case
async def an_interrupted_resync_stays_a_full_one(store):
    """A resync cut off halfway is done again in full next time, not trusted from where it
    stopped: the checkpoints were discarded, and a page saved meanwhile settles nothing. (With
    nothing unsent, the pull is the one to find the new database; its full pass completes, then
    the full push it calls for is the one cut off.)"""
    clock = FakeClock()
    a = make_peer()
    await seed_todos(store, 12, clock)
    await sync_todos(store, a)
    b = LosingAnswers()
    b.lose_apply_at = 2  # the second page of the full push: its answer never comes
    assert await try_sync(store, b, batch_size=5, peer="server") is None
    b.lose_apply_at = None
    await todos_on(b, clock).create(id="on-b", title="written to B meanwhile", order=20)
    result = await sync_todos(store, b, batch_size=5)
    assert result.push.resynced, "the retry must still be full"
    assert set(await live(b)) == {f"t{i}" for i in range(12)} | {"on-b"}
    assert await live(b) == await live(store)
    assert await state(b) == await state(store)
    await assert_no_op(store, b, "after the retried resync")


@case
async def a_first_pass_cut_off_still_names_its_database(store):
    """Every page saved names the database it came from: a first sync cut off after one page,
    then pointed at another database (further along than that page), resyncs."""
    clock = FakeClock()
    a, b = LosingAnswers(), make_peer()
    await seed_todos(a, 6, clock, prefix="a")
    await seed_todos(b, 10, clock, prefix="b")
    a.lose_feed_at = 2
    assert await try_sync(store, a, batch_size=2, peer="server") is None
    assert await Checkpoints(store, "server").load("pull", "todos") == 2, "page 1 was saved"
    result = await sync_todos(store, b)
    assert result.pull.resynced, "a checkpoint of A's was trusted against B"
    assert set(await live(b)) == {f"b{i}" for i in range(10)} | {"a0", "a1"}
    assert await live(b) == await live(store)
    await assert_no_op(store, b, "after the resync")


@case
async def a_conflict_recorded_against_the_old_database_is_kept(store):
    """It stays recorded (both versions kept) until resolved; the resync re-evaluates the
    document against the new database, which here did not have it."""
    clock = FakeClock()
    a, other = make_peer(), make_peer()
    T = todos_on(store, clock)
    await T.create(id="x", title="base", order=1)
    await sync_todos(store, a)
    await sync_todos(other, a)
    clock.tick()
    await edit_todo(T, "x", title="mine")
    await edit_todo(todos_on(other, clock), "x", title="theirs")
    await sync_todos(other, a)
    assert len((await sync_todos(store, a)).conflicts) == 1
    b = make_peer()
    result = await sync_todos(store, b)
    assert result.push.resynced and result.conflicts == []
    (kept,) = await stored_conflicts(store, Todo)
    assert [m.title for m in kept.models()] == ["theirs", "mine"], "the conflict was not kept"
    assert (await b.get("todos", "x")).data["title"] == "mine", "B lacks the local version"
    await kept.resolve_manually({"title": "mine and theirs", "order": 1})
    await sync_todos(store, b)
    assert await store.conflicts("todos") == []
    assert (await b.get("todos", "x")).data["title"] == "mine and theirs"


@case
async def checkpoints_saved_before_identities_are_trusted_once(store):
    """A client upgraded from a version that kept no identity: its checkpoints are trusted
    (no resync for everyone after an upgrade), and the identity is saved from then on."""
    server, clock = make_peer(), FakeClock()
    await seed_todos(server, 2, clock, prefix="s")
    await sync_todos(store, server)
    kept = Checkpoints(store, "server")
    for direction in ("push", "pull"):  # as the older version left them
        assert await kept.database(direction, "todos") == await server.identity()
    upgraded = MemoryStore()
    await seed_todos(server, 1, clock, prefix="n")
    progress = Checkpoints(upgraded, "server")
    await progress.save("pull", "todos", 2)  # s0, s1 pulled by the older version
    for doc in await store.feed("todos", 0, 100):
        await upgraded.apply("todos", [doc])
    result = await sync_todos(upgraded, server)
    assert not result.pull.resynced and result.pull.counts == {"applied": 1}, result.pull.counts
    assert await progress.database("pull", "todos") == await server.identity()
