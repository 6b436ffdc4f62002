"""Bulk writes (`Model.update_many`, `Model.delete_many`, `Store.write_many`): the same documents,
change feed, merge bases and sync results as the same changes one by one, all or nothing, and
the access rules and validation with the same words."""

from __future__ import annotations

from models import (
    AccessDeniedError,
    ConflictError,
    DictStorage,
    MemoryStore,
    StorageFullError,
    Todo,
    TodoList,
    ValidationError,
    WebStorageStore,
    sync,
)

from .helpers import FakeClock, raises
from .registry import case
from .storages import FailingStorage, snapshot, used_chars

N = 12


def todos_of(store, user: str, clock: FakeClock):
    T = Todo.using(store).as_user(user)
    T.clock = clock
    return T


async def everything(store) -> list[tuple]:
    """Every document and tombstone in feed order, with all its bookkeeping."""
    return [(d.id, d.rev, d.checkpoint, d.deleted, d.data, d.type, d.history, d.base_rev,
             d.base_data, d.owner, d.unacked) for d in await store.feed("todos", 0, 10**9)]


async def scenario(local, bulk: bool) -> dict:
    """Todos synced once (so they have merge bases), one edited on the server meanwhile, then
    toggle all and clear some, written in bulk or one by one, then synced again."""
    clock, server = FakeClock(), MemoryStore()
    T = todos_of(local, "ann", clock)
    for i in range(N):
        await T.create(id=f"t{i}", title=f"todo {i}", order=i, completed=i % 3 == 0)
    await (await T.find_by_id("t1")).update(title="edited before the sync")
    first = await sync(local, server, models=[Todo, TodoList])
    clock.tick()
    # a server-side edit of another field: the next sync merges it three ways
    S = todos_of(server, "ann", clock)
    await (await S.find_by_id("t4")).update(title="renamed on the server")
    clock.tick()
    todos = await T.find(order="order ASC")
    written = []
    if bulk:
        written += await T.update_many([t for t in todos if not t.completed], completed=True)
    else:
        for t in todos:
            if not t.completed:
                await t.update(completed=True)
    clock.tick()
    gone = [t for t in await T.find(order="order ASC") if t.order % 4 == 1]
    if bulk:
        written += await T.delete_many(gone)
    else:
        for t in gone:
            await t.delete()
    local_state = await everything(local)
    result = await sync(local, server, first.checkpoints, models=[Todo, TodoList])
    return {"local": local_state, "written": [(d.id, d.rev, d.checkpoint) for d in written],
            "after_sync": await everything(local), "server": await everything(server),
            "conflicts": result.conflicts, "titles": sorted(t.title for t in await T.find())}


@case
async def bulk_writes_leave_what_the_same_writes_one_by_one_leave(store):
    bulk, single = await scenario(store, True), await scenario(MemoryStore(), False)
    assert bulk["local"] == single["local"], "documents, checkpoints or merge bases differ"
    cps = [cp for _, _, cp in bulk["written"]]
    assert len(cps) == 8 + 3 and cps == sorted(cps), "8 toggled, then 3 deleted, in order"
    final = {(id, rev, cp) for id, rev, cp, *_ in bulk["local"]}
    assert set(bulk["written"][-3:]) <= final, "the tombstones written are what is stored"
    assert bulk["after_sync"] == single["after_sync"] and bulk["server"] == single["server"]
    assert bulk["conflicts"] == [] == single["conflicts"]
    assert "renamed on the server" in bulk["titles"], "the server's edit merged in"


@case
async def bulk_write_is_all_or_nothing(store):
    clock = FakeClock()
    T = todos_of(store, "ann", clock)
    for i in range(5):
        await T.create(id=f"t{i}", title=f"todo {i}", order=i)
    todos = await T.find(order="order ASC")
    clock.tick()
    await (await T.find_by_id("t3")).update(title="changed meanwhile")  # t3 is stale below
    before = await everything(store)
    revs = [t._rev for t in todos]
    exc = await raises(ConflictError, T.update_many(todos, completed=True))
    assert exc.details["id"] == "t3", exc.details
    assert await everything(store) == before, "a refused batch wrote something"
    assert [t.completed for t in todos] == [False] * 5 and [t._rev for t in todos] == revs
    await raises(ConflictError, T.delete_many(todos))
    assert await everything(store) == before and await T.count() == 5
    # validation: refused with the words a single update gets, nothing written
    fresh = await T.find(order="order ASC")
    one = await raises(ValidationError, T.from_dict(fresh[0].to_dict(),
                                                    rev=fresh[0]._rev).update(title=" "))
    many = await raises(ValidationError, T.update_many(fresh, title=" "))
    assert many.message == one.message and many.details == one.details, many.to_dict()
    unknown = await raises(ValidationError, T.update_many(fresh, colour="red"))
    alone = await raises(ValidationError, fresh[0].update(colour="red"))
    assert unknown.details == alone.details, unknown.details
    assert await everything(store) == before
    await T.update_many(fresh, completed=True)
    assert await T.count(where={"completed": True}) == 5, "usable after the refusals"


@case
async def bulk_writes_are_refused_to_a_viewer_and_a_stranger(store):
    clock = FakeClock()
    Lists = TodoList.using(store).as_user("ann")
    shopping = await Lists.create(name="Shopping", members={"ed": "editor", "vi": "viewer"})
    Ann = todos_of(store, "ann", clock)
    for i in range(4):
        await Ann.create(id=f"t{i}", title=f"todo {i}", order=i, list_id=shopping.id)
    before = await everything(store)
    for name in ("vi", "stan"):
        T = todos_of(store, name, clock)
        theirs = [T.from_dict(t.to_dict(), rev=t._rev) for t in await Ann.find()]
        exc = await raises(AccessDeniedError, T.update_many(theirs, completed=True))
        alone = T.from_dict(theirs[0].to_dict(), rev=theirs[0]._rev)
        one = await raises(AccessDeniedError, alone.update(completed=True))
        assert exc.message == one.message == "WRITE on todos is not allowed", exc.message
        assert exc.status == 403
        exc = await raises(AccessDeniedError, T.delete_many(theirs))
        assert exc.message == "WRITE on todos is not allowed"
        assert [t.completed for t in theirs] == [False] * 4, "refused objects are put back"
    assert await everything(store) == before, "a refused user wrote something"
    Ed = todos_of(store, "ed", clock)
    await Ed.update_many(await Ed.find(), completed=True)
    assert await Ann.count(where={"completed": True}) == 4, "an editor may"
    await Ed.delete_many(await Ed.find())
    assert await Ann.count() == 0


@case(store_independent=True)
async def bulk_write_refused_half_way_by_web_storage_leaves_it_as_it_was():
    storage = FailingStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    for i in range(20):
        await T.create(id=f"t{i}", title=f"todo {i}", order=i)
    todos = await T.find()
    before = snapshot(storage)
    for step in (2, 10, 25, 40):  # the journal is #1; then 20 entries, 20 change keys, `#`
        storage.arm(fail_set_at=step)
        await raises(StorageFullError, T.update_many(todos, title="a longer title " * 3))
        storage.disarm()
        assert snapshot(storage) == before, f"setItem #{step} refused: traces left"
        assert sorted(t.title for t in todos) == sorted(f"todo {i}" for i in range(20))
    storage.disarm()
    await T.delete_many(todos)
    assert await T.count() == 0 and await ws.checkpoint() == 40


@case(store_independent=True)
async def bulk_write_past_the_quota_leaves_web_storage_as_it_was():
    storage = DictStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    for i in range(20):
        await T.create(id=f"t{i}", title=f"todo {i}", order=i)
    todos = await T.find()
    storage.quota = used_chars(storage) + 500  # the longer bodies do not fit
    before = snapshot(storage)
    exc = await raises(StorageFullError, T.update_many(todos, title="x" * 200))
    assert "nothing else was lost" in exc.message
    assert snapshot(storage) == before, "a batch past the quota left traces"
    await T.delete_many(todos)  # shrinking steps first: a delete fits in a full storage
    assert await T.count() == 0
