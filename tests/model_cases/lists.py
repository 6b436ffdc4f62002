"""Shared lists (`models/todo_list.py`): access that follows data, for the owner, an editor, a
viewer and a stranger, through every store. The same code decides in the browser (a store
holding the lists its user may read) and on the server (a store holding all of them)."""

from __future__ import annotations

from models import (
    AccessDeniedError,
    MemoryStore,
    Todo,
    TodoList,
    ValidationError,
    default_list_id,
    replicate,
)
from models.todo_list import default_list_body

from .helpers import raises
from .registry import case

DENIED_TODOS = "WRITE on todos is not allowed"
DENIED_LISTS = "WRITE on todolists is not allowed"


def people(store):
    """(list model, todo model) acting for each of owner, editor, viewer, stranger."""
    return {name: (TodoList.using(store).as_user(name), Todo.using(store).as_user(name))
            for name in ("ann", "ed", "vi", "stan")}


async def shared(store):
    """Ann's list "Shopping", shared with Ed (editor) and Vi (viewer), holding one todo."""
    who = people(store)
    Lists, Todos = who["ann"]
    shopping = await Lists.create(name="Shopping", members={"ed": "editor", "vi": "viewer"})
    milk = await Todos.create(title="milk", list_id=shopping.id)
    return who, shopping, milk


@case
async def lists_owner_editor_viewer_stranger_read(store):
    who, shopping, milk = await shared(store)
    for name in ("ann", "ed", "vi"):
        Lists, Todos = who[name]
        assert [t.title for t in await Todos.find()] == ["milk"], name
        assert (await Todos.find_by_id(milk.id)).title == "milk", name
        assert await Todos.count(where={"list_id": shopping.id}) == 1, name
        assert [x.name for x in await Lists.find()] == ["Shopping"], name
    Lists, Todos = who["stan"]
    assert await Todos.find() == [] and await Todos.count() == 0
    assert await Todos.find_by_id(milk.id) is None, "a stranger's view: it does not exist"
    assert await Lists.find() == [] and await Lists.find_by_id(shopping.id) is None


@case
async def lists_editor_writes_viewer_and_stranger_are_refused_with_the_servers_words(store):
    who, shopping, milk = await shared(store)
    _, Ed = who["ed"]
    mine = await Ed.find_by_id(milk.id)
    await mine.update(completed=True)
    eggs = await Ed.create(title="eggs", list_id=shopping.id)
    assert eggs.owner == "ed", "the creator, whoever owns the list"
    for name in ("vi", "stan"):
        _, T = who[name]
        stolen = T.from_dict(mine.to_dict(), rev=mine._rev)
        exc = await raises(AccessDeniedError, stolen.update(title="mine now"))
        assert exc.message == DENIED_TODOS and exc.status == 403, exc.message
        await raises(AccessDeniedError, stolen.delete())
        exc = await raises(AccessDeniedError, T.create(title="sneaked", list_id=shopping.id))
        assert exc.message == DENIED_TODOS
    _, Ann = who["ann"]
    assert sorted((t.title, t.completed) for t in await Ann.find()) == [
        ("eggs", False), ("milk", True)], "nothing the refused users wrote is stored"


@case
async def lists_only_the_owner_renames_shares_unshares_and_deletes(store):
    who, shopping, milk = await shared(store)
    for name in ("ed", "vi"):
        Lists, _ = who[name]
        theirs = await Lists.find_by_id(shopping.id)
        exc = await raises(AccessDeniedError, theirs.update(name="Mine"))
        assert exc.message == DENIED_LISTS, exc.message
        await raises(AccessDeniedError, theirs.update(members={name: "editor", "stan": "editor"}))
        await raises(AccessDeniedError, theirs.delete())
    Stan, _ = who["stan"]
    forged = Stan.from_dict({**shopping.to_dict(), "owner": "stan"}, rev=shopping._rev)
    exc = await raises(AccessDeniedError, forged.save())
    assert exc.message == DENIED_LISTS, "taking over a list is writing it"
    Lists, _ = who["ann"]
    mine = await Lists.find_by_id(shopping.id)
    await mine.update(name="Groceries", members={"vi": "editor"})  # rename, unshare Ed, promote Vi
    _, Ed = who["ed"]
    assert await Ed.find() == [] and await Ed.find_by_id(milk.id) is None, "unshared: gone"
    _, Vi = who["vi"]
    await (await Vi.find_by_id(milk.id)).update(title="oat milk")
    await mine.delete()
    assert await Vi.find() == [], "a deleted list shares nothing"


@case
async def lists_default_list_is_the_same_everywhere(store):
    """A todo saved without a list goes to its creator's default list, whose id follows from
    the user's; two devices creating that list on their own make the same revision."""
    _, Todos = people(store)["ann"]
    todo = await Todos.create(title="no list named")
    assert todo.list_id == default_list_id("ann") == "inbox-ann"
    other = MemoryStore()
    revs = []
    for where in (store, other):
        made = await TodoList.using(where).as_user("ann").create(**default_list_body("ann"))
        revs.append(made._rev)
    assert revs[0] == revs[1], "no stamp, no randomness: one revision on every device"
    exc = await raises(ValidationError, TodoList.using(store).as_user("stan").create(
        id=default_list_id("ann"), name="hijack"))
    assert "id" in exc.details, "another user's default list id is not a list one may create"
    _, Stan = people(store)["stan"]
    await raises(AccessDeniedError, Stan.create(title="x", list_id=default_list_id("ann")))
    exc = await raises(ValidationError, TodoList.using(store).as_user("ann").create(
        name="self", members={"ann": "editor"}))
    assert "members" in exc.details
    exc = await raises(ValidationError, TodoList.using(store).as_user("ann").create(
        name="bad role", members={"ed": "admin"}))
    assert "members" in exc.details


@case
async def lists_replicated_documents_follow_the_list(store):
    """What the sync endpoints run on a push: the model resolved for the user (its memberships
    read from the store), checking each document against its list, stored and incoming."""
    who, shopping, milk = await shared(store)
    doc = await store.get("todos", milk.id)
    for name, allowed in (("ann", True), ("ed", True), ("vi", False), ("stan", False)):
        acting = await who[name][1].resolved()
        problem = acting.check_replicated(doc, doc)
        assert (problem is None) == allowed, (name, problem)
        if not allowed:
            assert problem["message"] == DENIED_TODOS, problem
    Lists, _ = who["ann"]
    private = await Lists.create(name="Private")
    moved = type(doc)(**{**doc.__dict__, "data": {**doc.data, "list_id": private.id},
                         "owner": private.id})
    ed = await who["ed"][1].resolved()
    assert ed.check_replicated(moved, doc) is not None, "an editor cannot move it out of reach"
    assert ed.readable_owners() == (shopping.id, default_list_id("ed"), "ed")
    assert (await who["stan"][1].resolved()).readable_owners() == (
        default_list_id("stan"), "stan")


@case
async def lists_feed_by_readable_owners_has_the_lists_todos_and_tombstones(store):
    who, shopping, milk = await shared(store)
    _, Ann = who["ann"]
    gone = await Ann.create(title="gone", list_id=shopping.id)
    await gone.delete()
    await Ann.create(title="private")
    ed = await who["ed"][1].resolved()
    feed = await store.feed("todos", 0, 100, owner=ed.readable_owners())
    assert [(d.id, d.deleted) for d in feed] == [(milk.id, False), (gone.id, True)], feed
    lists = await store.feed("todolists", 0, 100, owner=ed.readable_owners())
    assert [d.id for d in lists] == [shopping.id]
    assert await store.pending("todos", 0, ed.readable_owners()) == 2


@case
async def lists_a_member_may_leave_and_do_nothing_else(store):
    """An editor or a viewer may take themself out of a list's members (leave), nothing more:
    not rename it on the way, not take someone else out, not leave twice. The owner cannot
    leave their own list (they delete it)."""
    who, shopping, milk = await shared(store)
    Ed, _ = who["ed"]
    theirs = await Ed.find_by_id(shopping.id)
    exc = await raises(AccessDeniedError, theirs.update(name="Mine", members={"vi": "viewer"}))
    assert exc.message == DENIED_LISTS, "leaving and renaming at once is writing the list"
    theirs = await Ed.find_by_id(shopping.id)
    await raises(AccessDeniedError, theirs.update(members={"ed": "editor"}))  # Vi out: no
    await raises(AccessDeniedError, theirs.update(members={"ed": "editor", "vi": "editor"}))
    await theirs.update(members={"vi": "viewer"})  # Ed leaves
    assert await Ed.find_by_id(shopping.id) is None, "left: the list is gone for them"
    _, EdTodos = who["ed"]
    assert await EdTodos.find() == []
    Vi, _ = who["vi"]
    await (await Vi.find_by_id(shopping.id)).update(members={})  # a viewer leaves too
    assert await Vi.find() == []
    Ann, _ = who["ann"]
    mine = await Ann.find_by_id(shopping.id)
    assert mine.members == {} and mine.name == "Shopping"
    assert not TodoList.is_leaving(mine.to_dict(), {**mine.to_dict(), "members": {}}, "ann")
    Stan, _ = who["stan"]
    forged = Stan.from_dict(mine.to_dict(), rev=mine._rev)
    await raises(AccessDeniedError, forged.update(members={}))


@case
async def lists_leaving_through_replication_is_checked_alike(store):
    """What a push of a member's leave meets on the server: `check_replicated` allows exactly
    the write `save` allows."""
    who, shopping, milk = await shared(store)
    stored = await store.get("todolists", shopping.id)

    def pushed(**data):
        return type(stored)(**{**stored.__dict__, "data": {**stored.data, **data}})

    ed = await who["ed"][0].resolved()
    assert ed.check_replicated(pushed(members={"vi": "viewer"}), stored) is None
    problem = ed.check_replicated(pushed(members={"vi": "viewer"}, name="Ed's"), stored)
    assert problem is not None and problem["message"] == DENIED_LISTS
    stan = await who["stan"][0].resolved()
    assert stan.check_replicated(pushed(members={"ed": "editor"}), stored) is not None


@case
async def lists_a_resolved_conflict_stays_in_its_list(store):
    """Resolving a conflict on a shared list's todo, whichever way, leaves it owned by its
    list (not by whoever created it): its members still read it."""
    for how in ("source", "target", "manually"):
        who, shopping, milk = await shared(store)
        other = MemoryStore()
        await replicate(store, other, models=[TodoList, Todo])
        _, here = who["ed"]
        there = Todo.using(other).as_user("ed")
        await (await here.find_by_id(milk.id)).update(title="mine")
        await (await there.find_by_id(milk.id)).update(title="theirs")
        (conflict,) = (await replicate(other, store, models=[Todo])).conflicts
        if how == "manually":
            outcome = await conflict.resolve_manually({**(await here.find_by_id(milk.id))
                                                       .to_dict(), "title": "both"})
        else:
            outcome = await getattr(conflict, f"resolve_using_{how}")()
        assert outcome.status == "applied", (how, outcome)
        assert (await store.get("todos", milk.id)).owner == shopping.id, how
        assert (await here.find_by_id(milk.id)) is not None, how


async def device_of(server, who, name: str, store):
    """`store` made the device of `name`: what their pull brings (the lists and todos whose
    owner they read, as the server's feed answers), applied as received from a peer."""
    acting = await who[name][1].resolved()
    for collection in ("todolists", "todos"):
        docs = await server.feed(collection, 0, 1000, owner=acting.readable_owners())
        await store.apply(collection, docs)
    return TodoList.using(store).as_user(name), Todo.using(store).as_user(name)


@case
async def lists_a_device_holding_only_its_lists_decides_like_the_server(store):
    """The browser's store holds only what its user reads; the memberships it reads there give
    the same answers as the server's, which holds every list."""
    server = MemoryStore()
    who, shopping, milk = await shared(server)
    _, Ann = who["ann"]
    await Ann.create(title="ann's own")
    Lists, Todos = await device_of(server, who, "vi", store)
    assert [x.name for x in await Lists.find()] == ["Shopping"]
    assert [t.title for t in await Todos.find()] == ["milk"], "only the shared list's todo"
    theirs = await Todos.find_by_id(milk.id)
    exc = await raises(AccessDeniedError, theirs.update(title="vi's"))
    assert exc.message == DENIED_TODOS, "refused on the device with the server's words"
    await raises(AccessDeniedError, theirs.delete())
    await raises(AccessDeniedError, Todos.create(title="x", list_id=shopping.id))
    exc = await raises(AccessDeniedError, (await Lists.find_by_id(shopping.id)).update(name="V"))
    assert exc.message == DENIED_LISTS
    mine = await Todos.create(title="vi's own")
    assert mine.list_id == default_list_id("vi"), "their default list needs no document"
    assert [t.title for t in await Todos.find(order="title ASC")] == ["milk", "vi's own"]


@case
async def lists_an_editors_device_writes_and_the_server_takes_it(store):
    server = MemoryStore()
    who, shopping, milk = await shared(server)
    Lists, Todos = await device_of(server, who, "ed", store)
    await (await Todos.find_by_id(milk.id)).update(completed=True)
    eggs = await Todos.create(title="eggs", list_id=shopping.id)
    await raises(AccessDeniedError, (await Lists.find_by_id(shopping.id)).update(
        members={"ed": "editor", "stan": "viewer"}))
    ed = await who["ed"][1].resolved()
    for id in (milk.id, eggs.id):
        doc = await store.get("todos", id)
        assert ed.check_replicated(doc, await server.get("todos", id)) is None, id
    stan = await who["stan"][1].resolved()
    problem = stan.check_replicated(await store.get("todos", eggs.id), None)
    assert problem["message"] == DENIED_TODOS, "a stranger pushing the same todo is refused"


@case
async def lists_an_unshared_device_forgets_the_list_and_keeps_unsynced_edits(store):
    """What a pull does when the server no longer names the list among the owners the user
    reads (`LocalStore.evict`): the list and its todos go, no tombstone, and a todo the user
    edited and never synced is kept under `kept.todos` first, outside replication."""
    from models.kept import dismiss, kept_documents

    server = MemoryStore()
    who, shopping, milk = await shared(server)
    _, Ann = who["ann"]
    await Ann.create(title="bread", list_id=shopping.id)
    Lists, Todos = await device_of(server, who, "ed", store)
    await (await Todos.find_by_id(milk.id)).update(title="oat milk")
    own = await Todos.create(title="ed's own")
    owners = (default_list_id("ed"), "ed")  # what the server says after the unshare
    assert await store.evict("todolists", owners) == (1, 0)
    assert await store.evict("todos", owners) == (2, 1)
    assert await Lists.find() == [] and [t.id for t in await Todos.find()] == [own.id]
    assert await store.get_any("todos", milk.id) is None, "forgotten: no tombstone"
    assert await store.feed("todos", 0, 100) == [await store.get("todos", own.id)], \
        "nothing to push but ed's own todo"
    kept = await kept_documents(store, "todos")
    assert [(d.id, d.data["title"]) for d in kept] == [(milk.id, "oat milk")]
    exc = await raises(AccessDeniedError, Todos.create(title="x", list_id=shopping.id))
    assert exc.message == DENIED_TODOS, "the memberships followed the eviction"
    assert await dismiss(store, "todos") == 1 and await kept_documents(store, "todos") == []


@case
async def lists_a_stranger_can_neither_read_nor_write_a_list_or_its_todos(store):
    who, shopping, milk = await shared(store)
    Lists, Todos = who["stan"]
    assert await Lists.count() == 0 and await Lists.find(where={"id": shopping.id}) == []
    assert await Todos.find(where={"list_id": shopping.id}) == []
    theirs = Lists.from_dict(shopping.to_dict(), rev=shopping._rev)
    for attempt in (theirs.update(name="stan's"), theirs.update(members={"stan": "editor"}),
                    theirs.delete()):
        exc = await raises(AccessDeniedError, attempt)
        assert exc.message == DENIED_LISTS
    todo = Todos.from_dict(milk.to_dict(), rev=milk._rev)
    for attempt in (todo.update(title="stan's"), todo.delete(),
                    Todos.create(title="x", list_id=shopping.id),
                    Todos.create(title="x", list_id=default_list_id("ann"))):
        exc = await raises(AccessDeniedError, attempt)
        assert exc.message == DENIED_TODOS
    mine = await Todos.create(title="mine")
    exc = await raises(AccessDeniedError, mine.update(list_id=shopping.id))
    assert exc.message == DENIED_TODOS, "nor move a todo of theirs into it"
    _, Ann = who["ann"]
    assert [t.title for t in await Ann.find()] == ["milk"]
    assert (await TodoList.using(store).as_user("ann").find_by_id(shopping.id)).name == \
        "Shopping"


@case
async def lists_a_deleted_lists_todos_are_nobodys(store):
    """Only the owner deletes a list; then nobody, the owner included, reads or writes its
    todos (the server deletes them with it, server/sharing.py; devices forget them)."""
    who, shopping, milk = await shared(store)
    Lists, _ = who["ann"]
    for name in ("ed", "vi"):
        await raises(AccessDeniedError, (await who[name][0].find_by_id(shopping.id)).delete())
    await (await Lists.find_by_id(shopping.id)).delete()
    for name in ("ann", "ed", "vi", "stan"):
        L, T = who[name]
        assert await L.find() == [] and await T.find() == [], name
        assert await T.find_by_id(milk.id) is None, name
        todo = T.from_dict(milk.to_dict(), rev=milk._rev)
        exc = await raises(AccessDeniedError, todo.update(title="still here?"))
        assert exc.message == DENIED_TODOS, name
        await raises(AccessDeniedError, T.create(title="x", list_id=shopping.id))


@case
async def lists_a_todo_stays_in_its_list(store):
    """A todo's list does not change (a reader of the old list who may not read the new one
    would keep it forever: pulls read by list): locally and on a push alike, for the owner
    and an editor; moving is deleting and creating in the other list."""
    who, shopping, milk = await shared(store)
    Lists, Ann = who["ann"]
    private = await Lists.create(name="Private")
    for name, target in (("ann", private.id), ("ann", default_list_id("ann")),
                         ("ed", default_list_id("ed"))):
        _, T = who[name]
        todo = await T.find_by_id(milk.id)
        exc = await raises(ValidationError, todo.update(list_id=target))
        assert list(exc.details) == ["list_id"] and "cannot change" in exc.message, exc.message
        doc = await store.get("todos", milk.id)
        moved = type(doc)(**{**doc.__dict__, "rev": "2-" + "0" * 32, "history": (doc.rev,),
                             "data": {**doc.data, "list_id": target}, "owner": target})
        problem = (await T.resolved()).check_replicated(moved, doc)
        assert problem["code"] == "VALIDATION_FAILED" and "list_id" in problem["details"], problem
    assert (await Ann.find_by_id(milk.id)).list_id == shopping.id
    await (await Ann.find_by_id(milk.id)).delete()
    moved = await Ann.create(title="milk", list_id=private.id)
    assert [t.id for t in await who["ed"][1].find()] == [], "gone from the shared list"
    assert (await Ann.find_by_id(moved.id)).list_id == private.id


@case
async def lists_writes_refused_as_not_allowed_are_kept_and_undone(store):
    """What a sync does with pushes the server refused ACCESS_DENIED while the user still
    reads the list (an editor made a viewer while offline): `LocalStore.set_aside` keeps each
    edit under `kept.todos` and puts the document back to what the server holds, or forgets
    it when the server holds none."""
    from models.kept import kept_documents

    server = MemoryStore()
    who, shopping, milk = await shared(server)
    _, Todos = await device_of(server, who, "ed", store)
    await (await Todos.find_by_id(milk.id)).update(title="oat milk", completed=True)
    eggs = await Todos.create(title="eggs", list_id=shopping.id)
    synced = await store.get("todos", milk.id)
    assert await store.set_aside("todos", [milk.id, eggs.id, "no-such-id"]) == 2
    back = await store.get("todos", milk.id)
    served = await server.get("todos", milk.id)
    assert (back.rev, back.data, back.base_rev) == (served.rev, served.data, served.rev)
    assert back.checkpoint > synced.checkpoint, "a change the page's feed shows"
    assert await store.get_any("todos", eggs.id) is None
    assert sorted(d.data["title"] for d in await kept_documents(store, "todos")) == [
        "eggs", "oat milk"]
    assert [(t.title, t.completed) for t in await Todos.find()] == [("milk", False)]
    assert await store.set_aside("todos", [milk.id]) == 0, "nothing unsynced left"


@case
async def lists_a_refused_delete_is_undone_not_kept(store):
    from models.kept import kept_documents

    server = MemoryStore()
    who, shopping, milk = await shared(server)
    _, Todos = await device_of(server, who, "ed", store)
    await (await Todos.find_by_id(milk.id)).delete()
    assert await Todos.find() == []
    assert await store.set_aside("todos", [milk.id]) == 0, "nothing to keep"
    assert await kept_documents(store, "todos") == []
    assert [t.title for t in await Todos.find()] == ["milk"], "back as the server holds it"
    assert (await store.get("todos", milk.id)).rev == (await server.get("todos", milk.id)).rev
