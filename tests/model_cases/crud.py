"""Create, read, update and delete through a model, and stores that keep their own copies."""

from __future__ import annotations

import re

from models import (
    ChangeType,
    ConflictError,
    MemoryStore,
    NotFoundError,
    OffsyncError,
    Todo,
    ValidationError,
)
from models.revisions import generation

from .helpers import Item, ids, raises
from .registry import case


@case
async def create_then_find_by_id(store):
    T = Todo.using(store)
    todo = await T.create(title="Buy milk")
    assert todo.id and todo._rev, f"create must set id and _rev, got {todo!r} rev={todo._rev!r}"
    found = await T.find_by_id(todo.id)
    assert found is not None, f"find_by_id({todo.id!r}) found nothing right after create"
    assert found == todo, f"stored {found!r} differs from created {todo!r}"
    assert found._rev == todo._rev, f"rev {found._rev!r} != {todo._rev!r}"
    assert isinstance(found, T) and not found.is_new


@case
async def find_by_id_missing_is_none(store):
    T = Todo.using(store)
    await T.create(title="there")
    assert await T.find_by_id("no-such-id") is None
    assert await T.find_one(where={"title": "nope"}) is None


@case
async def save_new_object_then_save_again(store):
    T = Todo.using(store)
    todo = T(title="draft")
    assert todo.is_new and todo.id is None and todo._rev is None
    await todo.save()
    assert not todo.is_new and todo.id, "save must give a new object an id and a revision"
    first_rev = todo._rev
    todo.title = "final"
    await todo.save()
    assert todo._rev != first_rev, "a second save must produce a new revision"
    assert (await T.find_by_id(todo.id)).title == "final"
    assert await T.count() == 1, "saving twice must not create a second document"


@case
async def update_changes_fields_and_rev(store):
    T = Todo.using(store)
    todo = await T.create(title="write tests")
    old_rev = todo._rev
    await todo.update(completed=True, title="  write more tests  ")
    assert todo.completed is True and todo.title == "write more tests"
    assert todo._rev != old_rev and generation(todo._rev) == 2, f"rev after update: {todo._rev}"
    found = await T.find_by_id(todo.id)
    assert found.completed is True and found.title == "write more tests", f"stored {found!r}"
    assert found._rev == todo._rev


@case
async def delete_then_find_by_id_none(store):
    T = Todo.using(store)
    keep = await T.create(title="keep")
    gone = await T.create(title="gone")
    await gone.delete()
    assert await T.find_by_id(gone.id) is None, "a deleted todo must not be found by id"
    assert ids(await T.find()) == [keep.id], "find must not return deleted todos"
    assert await T.count() == 1, "count must not include deleted todos"
    assert gone.is_new, "a deleted object has no current revision any more"


@case
async def delete_twice_or_unsaved_raises_not_found(store):
    T = Todo.using(store)
    todo = await T.create(title="once")
    await todo.delete()
    await raises(NotFoundError, todo.delete())
    await raises(NotFoundError, T(title="never saved").delete())
    assert await T.count() == 0


@case
async def recreate_after_delete(store):
    T = Todo.using(store)
    todo = await T.create(title="phoenix")
    await todo.delete()
    again = await T.create(id=todo.id, title="phoenix again")
    assert generation(again._rev) == 3, f"the tombstone is the new parent; got rev {again._rev}"
    found = await T.find_by_id(todo.id)
    assert found is not None and found.title == "phoenix again"
    (change,) = await store.changes("todos")
    assert change.type == ChangeType.CREATE, f"a re-created document is a create, got {change.type}"


@case
async def count_with_and_without_where(store):
    T = Todo.using(store)
    assert await T.count() == 0, "a fresh store must be empty"
    for i in range(5):
        await T.create(title=f"todo {i}", completed=i % 2 == 0)
    assert await T.count() == 5
    assert await T.count(where={"completed": True}) == 3
    assert await T.count(where={"completed": False}) == 2
    assert await T.count(where={"title": {"like": "todo 1%"}}) == 1


@case
async def ids_random_and_unique(store):
    T = Todo.using(store)
    made = [await T.create(title=f"t{i}") for i in range(30)]
    seen = {t.id for t in made}
    assert len(seen) == 30, "every create must get a different id"
    for todo in made:
        assert re.fullmatch(r"[0-9a-f]{32}", todo.id), f"id {todo.id!r} is not 32 random hex"
    assert len({t.id[:8] for t in made}) > 25, "ids look sequential, not random"
    assert await T.count() == 30


@case
async def explicit_id_kept_and_duplicate_create_conflicts(store):
    T = Todo.using(store)
    todo = await T.create(id="my-id_1", title="mine")
    assert todo.id == "my-id_1"
    exc = await raises(ConflictError, T.create(id="my-id_1", title="someone else's"))
    assert "my-id_1" in str(exc), f"the conflict should name the id: {exc}"
    assert (await T.find_by_id("my-id_1")).title == "mine", "a duplicate create overwrote"
    bad = await raises(ValidationError, T.create(id="has space", title="x"))
    assert "id" in bad.details, f"a bad id must be reported on 'id': {bad.details}"


@case
async def using_binds_independent_stores(store):
    other = MemoryStore()
    before = Todo.store
    A, B = Todo.using(store), Todo.using(other)
    await A.create(title="in A")
    assert await A.count() == 1 and await B.count() == 0, "two bound classes share a store"
    assert Todo.store is before, "using() must not rebind Todo itself"
    assert A.collection == B.collection == "todos"
    Unbound = Todo.using(None)
    await raises(OffsyncError, Unbound.create(title="nowhere"))


@case
async def store_keeps_its_own_copy_of_written_data(store):
    data = {"id": "k1", "text": "before", "tags": ["a"]}
    await store.write("notes", "k1", data, base_rev=None)
    data["text"] = "mutated by the caller"
    data["tags"].append("b")
    got = (await store.get("notes", "k1")).data
    assert got == {"id": "k1", "text": "before", "tags": ["a"]}, (
        f"changing the dict after write changed the stored document: {got}")


@case
async def store_returns_copies_on_read(store):
    await store.write("notes", "k2", {"id": "k2", "text": "before"}, base_rev=None)
    (await store.get("notes", "k2")).data["text"] = "mutated by a reader"
    (await store.find("notes", Item.query()))[0].data["text"] = "mutated by a finder"
    got = (await store.get("notes", "k2")).data
    assert got == {"id": "k2", "text": "before"}, f"a reader changed the stored document: {got}"
