"""Entries of the earlier Web Storage layout (`offsync:<app>:...`, JSON objects) moved into the
compact one when the store opens (models/stores/relayout.py): nothing lost (unsynced edits,
merge bases, unacknowledged bodies, tombstones, conflicts, marks, damaged entries), a move killed
after any write resumes at the next start, and a full storage stops it with nothing lost."""

from __future__ import annotations

import dataclasses
import json

from models import DictStorage, StorageFullError, Todo, WebStorageStore, sync
from models.stores import codec, relayout

from .helpers import FakeClock, edit_todo, raises
from .peers import LosingAnswers, try_sync
from .registry import case
from .storages import DyingStorage, TabClosed, snapshot, used_chars

OWNER = "5" * 32
OLD = "offsync:o:"


async def reference_world():
    """A device in every state a document can be in, in the compact layout: synced todos, an
    unsynced edit with its merge base, a body sent without an answer, a local delete, a conflict,
    saved checkpoints."""
    clock = FakeClock()
    ref, remote = WebStorageStore(DictStorage(), app="ref"), LosingAnswers()
    T, R = Todo.using(ref).as_user(OWNER), Todo.using(remote).as_user(OWNER)
    T.clock = R.clock = clock
    todos = [await T.create(title=f"todo {i}", order=i) for i in range(5)]
    await sync(ref, remote, models=[Todo], peer="server")
    clock.tick()
    await edit_todo(R, todos[1].id, title="theirs")
    await edit_todo(T, todos[1].id, title="mine")
    await sync(ref, remote, models=[Todo], peer="server")  # the same field both ways: conflict
    clock.tick()
    await edit_todo(T, todos[3].id, title="sent, answer lost")
    remote.lose_apply_at = 1
    assert await try_sync(ref, remote, peer="server") is None
    clock.tick()
    await edit_todo(T, todos[3].id, title="after the lost answer")
    await edit_todo(T, todos[0].id, title="edited offline")
    await (await T.find_by_id(todos[2].id)).delete()
    return ref, remote


async def contents(store) -> dict:
    docs = await store.feed("todos", 0, 10**6, full=True)
    keys = store.keys()
    names = sorted(key[len(store.prefix) + 1:] for key in keys
                   if key.startswith(store.prefix + "="))
    return {"docs": docs, "conflicts": await store.conflicts("todos"),
            "marks": {name: await store.adapter.read_mark(name) for name in names},
            "checkpoint": await store.checkpoint()}


def fingerprint(found: dict) -> str:
    """`contents` as one text, the same for equal contents (to compare across tabs)."""
    return json.dumps(
        {**found, "docs": [dataclasses.asdict(d) for d in found["docs"]],
         "conflicts": [[None if mine is None else dataclasses.asdict(mine),
                        dataclasses.asdict(theirs)] for mine, theirs in found["conflicts"]]},
        sort_keys=True, default=str)


async def legacy_storage(ref, storage=None, app: str = "o") -> tuple[DictStorage, dict]:
    """What the earlier code would have stored for `ref`'s contents under `offsync:<app>:`,
    with a damaged entry, the app's own key in that namespace and another site's key beside
    them."""
    OLD = f"offsync:{app}:"
    want = await contents(ref)
    storage = DictStorage() if storage is None else storage
    storage.setItem("theme", "dark")
    for doc in want["docs"]:
        storage.setItem(f"{OLD}todos:doc:{doc.id}", codec.encode(doc))
        storage.setItem(f"{OLD}chg:{doc.checkpoint}", f"todos:{doc.id}")
    for _, theirs in want["conflicts"]:
        storage.setItem(f"{OLD}todos:conflict:{theirs.id}", codec.encode(theirs))
    for name, value in want["marks"].items():
        storage.setItem(f"{OLD}mark:{name}", str(value))
    storage.setItem(f"{OLD}mark:version:todos", "2")
    storage.setItem(f"{OLD}seq", str(want["checkpoint"]))
    storage.setItem(f"{OLD}todos:doc:broken", "{half an entry")
    storage.setItem(f"{OLD}sync:state", '{"online": true}')
    want["marks"]["version:todos"] = 2
    return storage, want


async def check_moved(storage, want: dict | str, where: str,
                      app: str = "o") -> WebStorageStore:
    """Open the store (the next start) and check that nothing was lost; `want` is `contents` or
    its `fingerprint`."""
    OLD = f"offsync:{app}:"
    moved = WebStorageStore(storage, app=app)
    got = await contents(moved)
    if isinstance(want, str):
        assert fingerprint(got) == want, f"{where}: {fingerprint(got)} != {want}"
        want = got
    assert got == want, f"{where}: {got} != {want}"
    assert not moved.corrupt_keys & {moved.doc_key("todos", d.id) for d in want["docs"]}
    broken = moved.doc_key("todos", "broken")
    assert storage.getItem(broken) == "{half an entry", f"{where}: the damaged entry was lost"
    await Todo.using(moved).find()
    assert broken in moved.corrupt_keys, f"{where}: the damaged entry is not reported"
    left = {k: storage.getItem(k) for k in (storage.key(i) for i in range(storage.length))
            if k.startswith(OLD)}
    assert left == {f"{OLD}sync:state": '{"online": true}',
                    f"{OLD}mark:version:todos": relayout.MOVED}, f"{where}: {left}"
    assert storage.getItem("theme") == "dark"
    return moved


@case(store_independent=True)
async def ws_earlier_layout_moved_in_with_nothing_lost():
    ref, remote = await reference_world()
    storage, want = await legacy_storage(ref)
    assert want["conflicts"] and any(d.unacked for d in want["docs"]), "the world lacks a case"
    assert any(d.deleted for d in want["docs"]) and any(
        d.base_rev not in (None, d.rev) for d in want["docs"])
    moved = await check_moved(storage, want, "moved")
    assert moved.moved == len(want["docs"]) + len(want["conflicts"]) + 1
    again = await check_moved(storage, want, "opened again")
    assert again.moved == 0, "a namespace moved in once is not scanned again"
    pushed_through = want["marks"]["checkpoint:server:push:todos"]
    pending = {d.id: d.rev for d in want["docs"] if d.checkpoint > pushed_through}
    sent = []
    apply = remote.apply

    async def recording(model, docs, **kw):
        sent.extend((d.id, d.rev) for d in docs)
        return await apply(model, docs, **kw)

    remote.apply = recording
    await sync(moved, remote, models=[Todo], peer="server")
    assert sorted(sent) == sorted(pending.items()), f"pushed {sent}, unsynced were {pending}"


@case(store_independent=True)
async def ws_earlier_layout_move_killed_after_any_write_resumes():
    ref, _ = await reference_world()
    page = relayout.PAGE
    relayout.PAGE = 2  # several pages, so a kill can fall between two of them
    try:
        for k in range(400):
            storage, want = await legacy_storage(ref)
            try:
                WebStorageStore(DyingStorage(storage, budget=k), app="o")
                died = False
            except TabClosed:
                died = True
            await check_moved(storage, want, f"killed after {k} writes")
            if not died:
                assert k > 10, f"the move took only {k} writes"
                break
        else:
            raise AssertionError("the move never finished")
    finally:
        relayout.PAGE = page


@case(store_independent=True)
async def ws_earlier_layout_move_in_a_full_storage():
    """Nearly full: the move goes one document at a time and fits (each shrinks). Full to the
    last character: opening says so, the earlier entries are all still there, and a start with
    room finishes the move."""
    ref, _ = await reference_world()
    storage, want = await legacy_storage(ref)
    storage.quota = used_chars(storage) + 400  # room for one entry at a time, not a page
    await check_moved(storage, want, "nearly full")
    storage, want = await legacy_storage(ref)
    storage.quota = used_chars(storage)
    before = [(k, v) for k, v in snapshot(storage) if ":chg:" not in k]
    exc = await raises(StorageFullError, _open(storage))
    assert "nothing was lost" in exc.message, exc.message
    assert [(k, v) for k, v in snapshot(storage) if ":chg:" not in k
            and k.startswith(OLD)] == [(k, v) for k, v in before if k.startswith(OLD)]
    storage.quota = None
    await check_moved(storage, want, "after the storage had room again")


async def _open(storage) -> WebStorageStore:
    return WebStorageStore(storage, app="o")
