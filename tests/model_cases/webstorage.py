"""The Web Storage store's layout: the keys a write touches, compact entries, no scans,
several apps in one storage, reopening, a damaged counter. Each case builds the storage it
needs."""

from __future__ import annotations

import json

from models import DictStorage, Todo, WebStorageStore, default_list_id
from models.stores.packing import pack_id
from models.stores.webstorage import parse_pointer

from .registry import case
from .storages import RecordingStorage


@case(store_independent=True)
async def ws_keys_touched_per_write():
    storage = RecordingStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    other = await T.create(title="bystander")
    p = ws.prefix
    journal = f"{p}journal"

    def touched() -> set[str]:
        """The keys a write changed; the journal is set first and removed last."""
        sets = [key for op, key in storage.log if op in ("set", "remove")]
        assert sets[0] == sets[-1] == journal and storage.log[-1] == ("remove", journal), sets
        assert storage.inner.getItem(journal) is None
        return storage.touched() - {journal}

    storage.log.clear()
    todo = await T.create(title="mine")
    doc, chg, seq = ws.doc_key("todos", todo.id), ws.change_key, ws.seq_key
    assert doc == f"{p}todos:{pack_id(todo.id)}" and len(doc) == len(p) + 16, doc
    assert touched() == {doc, chg(2), seq}, f"create: {storage.touched()}"
    storage.log.clear()
    await todo.update(title="mine 2")
    assert touched() == {doc, chg(3), chg(2), seq}, storage.touched()
    assert ("remove", chg(2)) in storage.log, "the replaced change key is removed"
    storage.log.clear()
    await todo.delete()
    assert touched() == {doc, chg(4), chg(3), seq}, storage.touched()
    assert storage.inner.getItem(seq) == "4"
    assert storage.inner.getItem(ws.doc_key("todos", other.id)) is not None
    assert parse_pointer(storage.inner.getItem(chg(4))) == ("todos", todo.id)
    entry = ws.entry("todos", todo.id)
    assert entry["deleted"] == 1 and entry["data"] is None and entry["checkpoint"] == 4, entry


@case(store_independent=True)
async def ws_entries_are_compact_and_earlier_entries_still_read():
    """A synced todo's entry repeats nothing (localStorage holds ~5 M characters): no field
    names, no id, no owner, packed revision and stamps; and an entry in the earlier format (a
    JSON object) still reads wherever it is met."""
    storage = DictStorage()
    local = WebStorageStore(storage, app="c")
    T = Todo.using(local).as_user("u1" * 16)
    todo = await T.create(title="compact")
    [sent] = await local.feed("todos", 0, 10)
    await local.mark_synced("todos", [sent])
    key = local.doc_key("todos", todo.id)
    raw = storage.getItem(key)
    assert len(key) + len(raw) <= 80 and "u1" not in raw and "title" not in raw, (key, raw)
    entry = local.entry("todos", todo.id)
    assert set(entry) == {"rev", "checkpoint", "shape", "data", "synced"}, entry
    [doc] = await local.feed("todos", 0, 10)
    assert (doc.owner, doc.base_rev, doc.base_data, doc.history) == (
        default_list_id("u1" * 16), doc.rev, doc.data, ()), "a todo belongs to its list"
    assert doc.data == todo.to_dict() and doc.rev == todo._rev
    todo.completed = True
    await todo.save()  # an edit keeps its merge base as the fields that differ
    entry = local.entry("todos", todo.id)
    assert set(entry["base_diff"]) <= {"completed", "updated_at"}, entry
    [edited] = await local.feed("todos", 0, 10)
    assert edited.base_rev == doc.rev and edited.base_data == doc.data
    assert edited.data == todo.to_dict() and edited.history == (doc.rev,)

    data = {**todo.to_dict(), "title": "written by an earlier version"}
    storage.setItem(local.doc_key("todos", "x1"), json.dumps({
        "rev": "2-" + "a" * 32, "checkpoint": 1, "type": "update", "history": ["1-" + "b" * 32],
        "deleted": False, "data": {**data, "id": "x1"}, "owner": "u1", "base_rev": "2-" + "a" * 32,
    }))
    found = await local.get("todos", "x1")
    assert found.owner == "u1" and found.history == ("1-" + "b" * 32,) and not found.deleted
    assert found.base_rev == found.rev and found.base_data == found.data
    assert found.data["title"] == "written by an earlier version"


@case(store_independent=True)
async def ws_writes_never_scan():
    storage = RecordingStorage()
    T = Todo.using(WebStorageStore(storage))
    for i in range(5):
        storage.inner.setItem(f"unrelated:{i}", "x")
    todo = await T.create(title="first")
    storage.log.clear()
    await T.create(title="second")
    await todo.update(title="first again")
    await todo.delete()
    assert not storage.scanned(), "a write walked the whole storage (key()/length)"
    gets = {key for op, key in storage.log if op == "get"}
    assert all(key.startswith(T.store.prefix) for key in gets), f"read foreign keys: {gets}"


@case(store_independent=True)
async def ws_other_apps_and_foreign_keys_untouched():
    storage = DictStorage()
    storage.setItem("theme", "dark")
    storage.setItem("offsync:other:todos:doc:x", "{broken")
    mine, theirs = WebStorageStore(storage, app="mine"), WebStorageStore(storage, app="theirs")
    A, B = Todo.using(mine), Todo.using(theirs)
    await A.create(title="a")
    await B.create(title="b")
    assert [t.title for t in await A.find()] == ["a"] and [t.title for t in await B.find()] == ["b"]
    assert await mine.checkpoint() == 1 and await theirs.checkpoint() == 1
    assert storage.getItem("theme") == "dark"
    assert storage.getItem("offsync:other:todos:doc:x") == "{broken"
    assert mine.corrupt_keys == set(), f"another app's key reported as ours: {mine.corrupt_keys}"


@case(store_independent=True)
async def ws_reopened_store_sees_everything():
    storage = DictStorage()
    T = Todo.using(WebStorageStore(storage))
    todo = await T.create(title="persist")
    await todo.update(completed=True)
    R = Todo.using(WebStorageStore(storage))
    found = await R.find_by_id(todo.id)
    assert found.to_dict() == todo.to_dict() and found._rev == todo._rev, (
        f"a new store on the same storage reads {found!r}, not {todo!r}")
    assert await R.store.checkpoint() == 2
    again = await R.create(title="after reload")
    assert (await R.store.changes("todos"))[-1].id == again.id


@case(store_independent=True)
async def ws_damaged_seq_recovered_without_reusing_checkpoints():
    for damage in (None, "", "garbage", "-5", "1.5"):
        storage = DictStorage()
        ws = WebStorageStore(storage)
        T = Todo.using(ws)
        a = await T.create(title="a")
        await T.create(title="b")
        await a.update(title="a2")
        assert await ws.checkpoint() == 3
        if damage is None:
            storage.removeItem(ws.seq_key)
        else:
            storage.setItem(ws.seq_key, damage)
        assert await ws.checkpoint() == 3, f"seq={damage!r}: recovered {await ws.checkpoint()}"
        c = await T.create(title="c")
        changes = await ws.changes("todos")
        points = [ch.checkpoint for ch in changes]
        assert points == [2, 3, 4] and changes[-1].id == c.id, f"seq={damage!r}: {changes}"
        assert storage.getItem(ws.seq_key) == "4", "the counter is repaired by the next write"
        assert len(await ws.changes("todos", 3)) == 1, "a puller at 3 must see the new write"


@case(store_independent=True)
async def ws_short_namespace_held_by_another_app_is_left_to_it():
    """The prefix is a hash of the app's name: when the record under it names another app (the
    same hash), the store takes the next candidate and reads nothing of the other's, and finds
    its own data there again when reopened."""
    from models.stores.namespace import candidate

    storage = DictStorage()
    taken = candidate("mine")  # as if "someone else" hashed to it first
    storage.setItem(taken + "@", json.dumps({"app": "someone else"}))
    foreign = {"rev": "1-" + "a" * 32, "checkpoint": 1, "data": {"title": "not yours"}}
    storage.setItem(taken + "todos:x", json.dumps(foreign))
    mine = WebStorageStore(storage, app="mine")
    assert mine.prefix == candidate("mine", 1) != taken, mine.prefix
    assert await Todo.using(mine).find() == []
    await Todo.using(mine).create(title="mine")
    again = WebStorageStore(storage, app="mine")
    assert again.prefix == mine.prefix
    assert [t.title for t in await Todo.using(again).find()] == ["mine"]
    assert json.loads(storage.getItem(taken + "todos:x")) == foreign
    assert json.loads(storage.getItem(mine.prefix + "@")) == {"app": "mine"}
