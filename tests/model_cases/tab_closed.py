"""A tab closed between the storage writes of one save (`DyingStorage`): the next start
finds the save whole or not at all. `tests/test_tab_closed_browser.py` closes a real tab."""

from __future__ import annotations

from models import DictStorage, MemoryStore, Todo, WebStorageStore, replicate, sync

from .helpers import FakeClock, delete_todo, edit_todo
from .registry import case
from .storages import DyingStorage, TabClosed, app_state


class RecordingRemote(MemoryStore):
    """A stand-in server that remembers every revision pushed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, str]] = []

    async def apply(self, model, docs, **kw):
        self.received += [(doc.id, doc.rev) for doc in docs]
        return await super().apply(model, docs, **kw)


async def crash_world(storage, app: str):
    """A device with synced todos (a, b, c), an unsynced edit (b), an unsynced create (d), and
    two changes waiting on its server (c completed, e created). Deterministic: same revisions
    every time."""
    clock = FakeClock()
    local = WebStorageStore(DyingStorage(storage), app=app)
    remote = RecordingRemote()
    T, R = Todo.using(local).as_user("u1"), Todo.using(remote).as_user("u1")
    T.clock = R.clock = clock
    for n, id in enumerate("abc"):
        await T.create(id=id, title=f"todo {id}", order=n)
    checkpoints = (await sync(local, remote, models=[Todo])).checkpoints
    await (await T.find_by_id("b")).update(title="b edited offline")
    await T.create(id="d", title="made offline", order=4)
    await (await R.find_by_id("c")).update(completed=True)
    await R.create(id="e", title="from another device", order=5)
    remote.received.clear()
    return local, remote, T, checkpoints


async def unsynced_revs(store) -> dict[str, str]:
    return {d.id: d.rev for d in await store.feed("todos", 0, 10**6) if d.base_rev != d.rev}


CRASH_OPS = {
    "create": lambda T, local, remote, cp: T.create(id="f", title="new", order=6),
    "edit a synced todo": lambda T, local, remote, cp: edit_todo(T, "a", title="a edited"),
    "edit an unsynced edit": lambda T, local, remote, cp: edit_todo(T, "b", title="b again"),
    "delete": lambda T, local, remote, cp: delete_todo(T, "d"),
    "pull a page": lambda T, local, remote, cp: replicate(remote, local, cp["pull"],
                                                          models=[Todo], prune_unseen=True),
}


@case
async def ws_tab_closed_between_the_writes_of_a_save(store):
    """The tab dies after k storage writes of one save, for every k. The next start (a new
    store over the same storage) finds the save fully done or not at all, byte for byte; its
    unsynced changes are exactly those of that state, and the next sync pushes exactly them and
    converges. On the real localStorage in the browser, on a dict elsewhere."""
    shared = store.storage if isinstance(store, WebStorageStore) else None
    for name, op in CRASH_OPS.items():
        storage = shared if shared is not None else DictStorage()
        app = f"crash-{len(name)}-{name[:4]}-clean"
        local, remote, T, cp = await crash_world(storage, app)
        prefix = local.prefix
        before, unsynced_before = app_state(storage, prefix), await unsynced_revs(local)
        await op(T, local, remote, cp)
        after, unsynced_after = app_state(storage, prefix), await unsynced_revs(local)
        assert before != after, f"{name}: the save changed nothing"
        for k in range(50):
            storage = shared if shared is not None else DictStorage()
            app = f"crash-{len(name)}-{name[:4]}-{k}"
            local, remote, T, cp = await crash_world(storage, app)
            local.storage.budget = k
            try:
                await op(T, local, remote, cp)
            except TabClosed:
                died = True
            else:
                died = False
            reopened = WebStorageStore(storage, app=app)
            got = app_state(storage, reopened.prefix)
            where = f"{name}, tab closed after {k} writes"
            half = {key: got.get(key) for key in set(got) | set(before)
                    if got.get(key) != before.get(key)}
            assert got in (before, after), f"{where}: half a save survived: {half}"
            assert not reopened.corrupt_keys, f"{where}: {reopened.corrupt_keys}"
            unsynced = await unsynced_revs(reopened)
            assert unsynced == (unsynced_before if got == before else unsynced_after), (
                f"{where}: unsynced changes {unsynced}")
            result = await sync(reopened, remote, cp, models=[Todo])
            assert sorted(remote.received) == sorted(unsynced.items()), (
                f"{where}: pushed {remote.received}, unsynced were {unsynced}")
            assert not result.conflicts, f"{where}: {result.conflicts}"
            mine = {d.id: d.rev for d in await reopened.find("todos", Todo.query())}
            theirs = {d.id: d.rev for d in await remote.find("todos", Todo.query())}
            assert mine == theirs, f"{where}: not converged: {mine} vs {theirs}"
            if not died:
                assert k >= 2, f"{name} finished in {k} writes: it cannot be a multi-key save"
                break
        else:
            raise AssertionError(f"{name} never finished")
