"""Writes against a stale revision: refused with a conflict, the newer version kept."""

from __future__ import annotations

from models import ConflictError, NotFoundError, Todo

from .helpers import raises
from .registry import case


@case
async def stale_update_raises_conflict_keeps_winner(store):
    T = Todo.using(store)
    todo = await T.create(title="original")
    mine, theirs = await T.find_by_id(todo.id), await T.find_by_id(todo.id)
    await theirs.update(title="theirs")
    exc = await raises(ConflictError, mine.update(title="mine"))
    assert exc.status == 409 and exc.details.get("id") == todo.id, exc.to_dict()
    found = await T.find_by_id(todo.id)
    assert found.title == "theirs" and found._rev == theirs._rev, f"the winner was lost: {found!r}"
    assert len(await store.changes("todos")) == 1


@case
async def stale_delete_raises_conflict(store):
    T = Todo.using(store)
    todo = await T.create(title="original")
    stale = await T.find_by_id(todo.id)
    await todo.update(title="edited")
    checkpoint = await store.checkpoint()
    await raises(ConflictError, stale.delete())
    assert (await T.find_by_id(todo.id)).title == "edited", "a stale delete deleted"
    assert await store.checkpoint() == checkpoint, "a refused delete moved the checkpoint"


@case
async def edit_against_delete_conflicts(store):
    T = Todo.using(store)
    todo = await T.create(title="doomed")
    stale = await T.find_by_id(todo.id)
    await todo.delete()
    await raises(ConflictError, stale.update(title="edited"))
    assert await T.find_by_id(todo.id) is None, "an edit resurrected a deleted todo"
    tomb = await store.get_any("todos", todo.id)
    assert tomb is not None and tomb.deleted, "the tombstone was overwritten"


@case
async def store_write_checks_base_rev(store):
    doc = await store.write("notes", "n1", {"id": "n1", "text": "a"}, base_rev=None)
    await raises(ConflictError, store.write("notes", "n1", {"id": "n1"}, base_rev=None))
    await raises(ConflictError, store.write("notes", "n1", {"id": "n1"}, base_rev="1-" + "0" * 32))
    await raises(ConflictError, store.write("notes", "n2", {"id": "n2"}, base_rev=doc.rev))
    await raises(NotFoundError, store.write("notes", "n2", None, base_rev=None))
    assert (await store.get("notes", "n1")).data == {"id": "n1", "text": "a"}
    assert await store.checkpoint() == doc.checkpoint, "refused writes moved the checkpoint"
