"""The Web Storage store when storage fails: quota, other errors, full storage, corrupt
entries. Every refused write leaves the storage exactly as it was."""

from __future__ import annotations

from models import CorruptEntryError, DictStorage, StorageFullError, Todo, WebStorageStore

from .helpers import ids, raises
from .registry import case
from .storages import FailingStorage, snapshot, used_chars


@case(store_independent=True)
async def ws_quota_exceeded_leaves_storage_identical():
    storage = DictStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    todo = await T.create(title="small")
    await T.create(title="another")
    storage.quota = used_chars(storage) + 200
    before = snapshot(storage)
    exc = await raises(StorageFullError, T.create(title="x" * 400))
    assert exc.status == 507 and "full" in exc.message, exc.to_dict()
    assert snapshot(storage) == before, "a refused create left traces in storage"
    await raises(StorageFullError, todo.update(title="y" * 400))
    assert snapshot(storage) == before, "a refused update left traces in storage"
    assert (await T.find_by_id(todo.id)).title == "small"
    assert await ws.checkpoint() == 2 and await T.count() == 2
    storage.quota = None
    await todo.update(title="y" * 400)
    assert (await T.find_by_id(todo.id)).title == "y" * 400, "the store is usable after a refusal"


@case(store_independent=True)
async def ws_failure_at_every_step_rolls_back():
    """setItem #1 is the journal (a refused journal is not fatal: see the next case); #2-#4 are
    the document, its change key and `seq`, in some order."""
    for op in ("create", "update", "delete"):
        for step in (2, 3, 4):
            storage = FailingStorage()
            ws = WebStorageStore(storage)
            T = Todo.using(ws)
            todo = await T.create(title="base")
            await T.create(title="other")
            before = snapshot(storage)
            storage.arm(fail_set_at=step)
            if op == "create":
                attempt = T.create(title="new")
            elif op == "update":
                attempt = todo.update(title="changed")
            else:
                attempt = todo.delete()
            await raises(StorageFullError, attempt)
            storage.disarm()
            assert snapshot(storage) == before, f"{op} failing at setItem #{step} left traces"
            assert await ws.checkpoint() == 2, f"{op} #{step}: checkpoint moved"
            assert [ch.checkpoint for ch in await ws.changes("todos")] == [1, 2]
            fresh = await T.find_by_id(todo.id)
            assert fresh.title == "base" and fresh._rev is not None, f"{op} #{step}: {fresh!r}"
            await fresh.update(title="retry")
            assert await ws.checkpoint() == 3, "the next write continues the sequence"


@case(store_independent=True)
async def ws_save_goes_ahead_when_the_journal_does_not_fit():
    """A storage too full for the journal still takes a save that fits (a delete in a full
    storage must always work): it is then all or nothing while the page lives."""
    storage = FailingStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    todo = await T.create(title="base")
    storage.arm(fail_set_at=1)  # the journal's setItem
    await todo.update(title="saved without a journal")
    storage.disarm()
    assert (await T.find_by_id(todo.id)).title == "saved without a journal"
    assert storage.getItem(ws.journal_key) is None and await ws.checkpoint() == 2


@case(store_independent=True)
async def ws_other_storage_errors_roll_back_and_propagate():
    storage = FailingStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    todo = await T.create(title="base")
    before = snapshot(storage)
    storage.arm(fail_remove=RuntimeError("disk on fire"))
    exc = await raises(RuntimeError, todo.update(title="changed"))
    assert "disk on fire" in str(exc) and not isinstance(exc, StorageFullError)
    storage.disarm()
    assert snapshot(storage) == before, "a failed write left traces in storage"


@case(store_independent=True)
async def ws_delete_works_when_storage_is_full():
    storage = DictStorage()
    T = Todo.using(WebStorageStore(storage))
    todos = [await T.create(title=f"todo number {i}") for i in range(3)]
    storage.quota = used_chars(storage)  # full to the last character
    await raises(StorageFullError, T.create(title="one more"))
    await todos[0].delete()  # a tombstone is smaller than the document: deleting frees room
    assert await T.count() == 2, "deleting must work when storage is full, to make room"
    assert used_chars(storage) <= storage.quota


@case(store_independent=True)
async def ws_corrupt_entry_skipped_by_find():
    storage = DictStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    good = await T.create(title="good")
    bad_keys = {
        ws.doc_key("todos", "bad1"): "{not json",
        ws.doc_key("todos", "bad2"): "[]",
        ws.doc_key("todos", "bad3"): '{"rev": 5, "checkpoint": 1, "data": {}}',
        ws.doc_key("todos", "bad4"): '{"rev": "1-a", "checkpoint": "x", "data": {}}',
        ws.doc_key("todos", "bad5"): '{"rev": "1-a", "checkpoint": 1, "data": "text"}',
    }
    for key, raw in bad_keys.items():
        storage.setItem(key, raw)
    assert ids(await T.find()) == [good.id], "find must skip unreadable entries"
    assert await T.count() == 1
    assert set(bad_keys) <= ws.corrupt_keys, f"not all reported: {ws.corrupt_keys}"
    assert ws.doc_key("todos", good.id) not in ws.corrupt_keys
    for key, raw in bad_keys.items():
        assert storage.getItem(key) == raw, f"{key} was changed"


@case(store_independent=True)
async def ws_corrupt_entry_get_and_write_raise():
    storage = DictStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    key = ws.doc_key("todos", "broken")
    storage.setItem(key, "{half a docu")
    exc = await raises(CorruptEntryError, T.find_by_id("broken"))
    assert exc.details == {"key": key} and key in ws.corrupt_keys, exc.to_dict()
    before = snapshot(storage)
    await raises(CorruptEntryError, T.create(id="broken", title="overwrite?"))
    await raises(CorruptEntryError, T.from_dict({"id": "broken", "title": "x"},
                                                rev="1-" + "0" * 32).delete())
    await raises(CorruptEntryError, ws.write("todos", "broken", None, base_rev=None))
    assert snapshot(storage) == before, "a corrupt entry was overwritten or deleted"
    assert storage.getItem(key) == "{half a docu"
    await T.create(title="others still work")
    assert storage.getItem(key) == "{half a docu"


@case(store_independent=True)
async def ws_corrupt_change_pointer_skipped():
    storage = DictStorage()
    ws = WebStorageStore(storage)
    T = Todo.using(ws)
    a = await T.create(title="a")
    b = await T.create(title="b")
    storage.setItem(ws.change_key(1), "garbage{")
    assert [ch.id for ch in await ws.changes("todos")] == [b.id], "a bad pointer broke changes()"
    assert ws.change_key(1) in ws.corrupt_keys
    assert storage.getItem(ws.change_key(1)) == "garbage{", "a corrupt pointer was rewritten"
    assert (await T.find_by_id(a.id)).title == "a"
