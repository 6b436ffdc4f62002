"""Model versions: every migration step, stores migrated on open (documents, unsynced edits,
merge bases, conflicts on both sides), replication and merge across a version boundary, an
interrupted migration that resumes, and model changes refused at start-up."""

from __future__ import annotations

from models import Boolean, DateTime, MemoryStore, Model, Number, String, Todo, replicate
from models.conflict import stored_conflicts
from models.errors import ModelVersionError
from models.fields import Date
from models.migrations import check_model, check_models, migrate_documents
from models.registry import MODELS
from models.stores.migrate import PROGRESS_MARK, migrate_store, stored_version
from models.todo import todo_v1_to_v2, todo_v2_to_v3

from .helpers import FakeClock, raises, raises_sync
from .registry import case


class TodoV1(Model):
    """`Todo` as version 1 defined it (before the due date): what an old tab runs."""

    collection = "todos"
    title = String(required=True, trim=True, min_length=1, max_length=500)
    completed = Boolean(required=True, default=False)
    created_at = DateTime(auto_now_add=True, read_only=True)
    updated_at = DateTime(auto_now=True, read_only=True)
    order = Number()
    owner = String(read_only=True)
    acl = Todo.acl


def v1_on(store):
    T = TodoV1.using(store)
    T.clock = FakeClock()
    return T


def v2_on(store):
    T = Todo.using(store)
    T.clock = FakeClock()
    return T


NEW_FIELDS = {"due": None, "list_id": None}  # what versions 2 and 3 add to an ownerless todo


async def replicate_as(model, source, target):
    return await replicate(source, target, None, models=[model])


@case(store_independent=True)
async def version_todo_step_1_to_2_adds_no_due_date():
    """The one step of the demo model: a version 1 todo has no due date; the result is a todo
    version 2 accepts in its saved form, and a body that already has one keeps it."""
    (sample,) = Todo.migration_samples[1]
    migrated = todo_v1_to_v2(dict(sample))
    assert migrated == {**sample, "due": None}, migrated
    obj = Todo.from_dict(todo_v2_to_v3(dict(migrated)))  # version 3 puts it in its list
    obj.validate()
    assert obj.to_dict() == {**migrated, "list_id": "inbox-u1"}
    assert todo_v1_to_v2({**sample, "due": "2026-12-24"})["due"] == "2026-12-24"
    check_models(MODELS.values())
    assert Todo.version == 3 and TodoV1.version == 1


@case(store_independent=True)
async def version_todo_step_2_to_3_puts_it_in_its_owners_default_list():
    """Version 3: a todo written before belongs to its owner's default list, whose id follows
    from the owner's alone (every side migrates alike, offline); one already in a list keeps it;
    one with no owner has no list (and belongs to nobody, as before)."""
    (sample,) = Todo.migration_samples[2]
    migrated = todo_v2_to_v3(dict(sample))
    assert migrated == {**sample, "list_id": "inbox-u1"}, migrated
    assert todo_v2_to_v3({**sample, "list_id": "shared"})["list_id"] == "shared"
    assert todo_v2_to_v3(todo_v2_to_v3(dict(sample))) == migrated, "twice is once"
    assert todo_v2_to_v3({**sample, "owner": None})["list_id"] is None
    obj = Todo.from_dict(migrated)
    obj.validate()
    assert obj.to_dict() == migrated


@case
async def version_2_store_migrates_into_default_lists_and_feeds_by_list(store):
    """A store of version 2 todos (owners u1 and u2) opened by version 3 code: every todo is in
    its owner's default list, and the owner column (what per-owner feeds read) follows."""

    class TodoV2(Model):
        collection = "todos"
        version = 2
        migrations = {1: todo_v1_to_v2}
        title = String(required=True)
        completed = Boolean(required=True, default=False)
        order = Number()
        due = Date()
        owner = String(read_only=True)

    V2 = TodoV2.using(store)
    await V2.create(id="a", title="a", owner="u1")
    await V2.create(id="b", title="b", owner="u2")
    gone = await V2.create(id="c", title="c", owner="u1")
    await gone.delete()
    assert await migrate_store(store, [Todo]) == {"todos": 3}
    docs = {d.id: d for d in await store.feed("todos", 0, 100)}
    assert docs["a"].data["list_id"] == "inbox-u1" and docs["a"].owner == "inbox-u1"
    assert docs["b"].owner == "inbox-u2"
    assert [d.id for d in await store.feed("todos", 0, owner="inbox-u1")] == ["a"]
    assert docs["c"].owner == "u1", "a tombstone keeps its owner: the user's feed has it"
    assert [t.title for t in await Todo.using(store).as_user("u1").find()] == ["a"]


@case(store_independent=True)
async def version_due_date_is_validated():
    for bad in ("tomorrow", "2026-13-01", "2026-1-1", 20261224):
        obj = Todo(title="x", due=bad)
        error = raises_sync(Exception, obj.validate)
        assert "due" in getattr(error, "details", {}), (bad, error)
    obj = Todo(title="x", due="2026-12-24")
    obj.validate()
    assert obj.due == "2026-12-24" and Todo(title="x").due is None
    assert isinstance(Todo.fields["due"], Date)


@case(store_independent=True)
async def version_unmigratable_model_changes_are_refused_naming_model_and_version():
    class Gap(Model):
        collection = "gaps"
        version = 3
        migrations = {1: lambda d: d}  # nothing from 2 to 3
        migration_samples = {1: [{"id": "a"}]}

    error = raises_sync(ModelVersionError, check_model, Gap)
    assert "Gap" in str(error) and "version 2" in str(error), error
    assert error.details == {"model": "Gap", "version": 2}, error.details

    def broken(data):
        raise KeyError("title")

    class Raises(Model):
        collection = "raises"
        name = String()
        version = 2
        migrations = {1: broken}
        migration_samples = {1: [{"id": "a"}]}

    error = raises_sync(ModelVersionError, check_model, Raises)
    assert "Raises" in str(error) and "version 1" in str(error) and "KeyError" in str(error)

    class Refused(Model):
        collection = "refused"
        name = String(required=True)
        version = 2
        migrations = {1: lambda d: {**d, "name": None}}
        migration_samples = {1: [{"id": "a", "name": "x"}]}

    error = raises_sync(ModelVersionError, check_model, Refused)
    assert "Refused version 2" in str(error), error

    class Stray(Model):
        collection = "strays"
        migrations = {4: lambda d: d}

    assert "Stray" in str(raises_sync(ModelVersionError, check_model, Stray))


async def old_store(store):
    """`store` as version 1 code left it: three todos, `a` synced with a peer then edited (so
    its merge base is a version 1 body), `b` synced, `c` never synced, `d` in conflict with the
    peer's edit of the same field, `e` deleted. Returns the peer (a version 1 server)."""
    peer = MemoryStore()
    mine, theirs = v1_on(store), v1_on(peer)
    for id in "abde":
        await mine.create(id=id, title=f"todo {id}", order=1)
    await replicate_as(TodoV1, store, peer)
    await (await mine.find_by_id("a")).update(title="a edited offline")
    await (await mine.find_by_id("d")).update(title="d mine")
    await (await theirs.find_by_id("d")).update(title="d theirs")
    await (await mine.find_by_id("e")).delete()
    await mine.create(id="c", title="todo c", order=2)
    pulled = await replicate_as(TodoV1, peer, store)
    assert [c.id for c in pulled.conflicts] == ["d"], pulled.conflicts
    return peer


@case
async def version_store_open_migrates_documents_bases_and_conflicts(store):
    await old_store(store)
    before = {d.id: d for d in await store.feed("todos", 0, 1000)}
    (mine_d, theirs_d), = await store.conflicts("todos")
    assert "due" not in before["a"].data and "due" not in before["a"].base_data
    assert await stored_version(store, "todos") == 1
    seen = []
    migrated = await migrate_store(store, [Todo], on_progress=lambda *a: seen.append(a))
    assert migrated == {"todos": 5} and seen[-1] == ("todos", 5, 5), (migrated, seen)
    after = {d.id: d for d in await store.feed("todos", 0, 1000)}
    for id, doc in after.items():
        old = before[id]
        assert (doc.rev, doc.checkpoint, doc.history, doc.base_rev, doc.deleted) == (
            old.rev, old.checkpoint, old.history, old.base_rev, old.deleted), id
        # version 2 adds `due`, version 3 `list_id` (no owner here: no list either)
        assert doc.data == (None if old.data is None else {**old.data, **NEW_FIELDS}), id
        assert doc.base_data == (None if old.base_data is None
                                 else {**old.base_data, **NEW_FIELDS}), id
    assert after["a"].data["title"] == "a edited offline" and after["a"].base_rev != after["a"].rev
    ((mine, theirs),) = await store.conflicts("todos")
    assert mine.data == {**mine_d.data, **NEW_FIELDS} and theirs.rev == theirs_d.rev
    assert theirs.data == {**theirs_d.data, **NEW_FIELDS}, theirs.data
    assert await stored_version(store, "todos") == Todo.version
    assert await migrate_store(store, [Todo]) == {"todos": 0}  # nothing twice
    # the migrated store works under version 2: the conflict resolves, the edit still saves
    (conflict,) = await stored_conflicts(store, v2_on(store))
    await conflict.resolve_manually({**theirs.data, "title": "d both", "due": "2026-12-24"})
    assert await store.conflicts("todos") == []
    assert (await v2_on(store).find_by_id("d")).due == "2026-12-24"
    await (await v2_on(store).find_by_id("c")).update(due="2027-01-01")


@case
async def version_push_from_v1_merges_with_a_v2_edit_of_another_field(store):
    """The server (`store`) is at version 2; an old tab edited the title under version 1 and
    pushes, migrated on arrival as the server does; the server had set the due date under
    version 2 meanwhile: the two merge, and the tab, once reloaded, converges."""
    tab = MemoryStore()
    await v1_on(tab).create(id="x", title="milk", order=1)
    await replicate_as(TodoV1, tab, store)
    await migrate_store(store, [Todo])  # the deploy: the server starts with version 2
    await (await v2_on(store).find_by_id("x")).update(due="2026-12-24")
    await (await v1_on(tab).find_by_id("x")).update(title="oat milk")

    pushed = migrate_documents(Todo, await tab.feed("todos", 0, 100), 1)  # on arrival
    (outcome,) = await store.apply("todos", pushed, merge=Todo.merge,
                                   check=Todo.check_replicated)
    assert outcome.status == "merged", outcome
    server_x = await store.get("todos", "x")
    assert (server_x.data["title"], server_x.data["due"]) == ("oat milk", "2026-12-24")

    await migrate_store(tab, [Todo])  # the tab reloads with version 2
    pulled = await replicate_as(Todo, store, tab)
    assert pulled.conflicts == [], pulled.conflicts
    assert (await tab.get("todos", "x")).data == server_x.data
    again = await replicate_as(Todo, tab, store)
    assert again.conflicts == [] and set(again.counts) <= {"unchanged"}, again.counts


@case
async def version_store_migrated_offline_then_merges_with_the_server(store):
    """The other order: the tab reloads offline (its store migrates, its unsynced edit and
    merge base with it), the server migrated at its own start; both edited other fields."""
    server = MemoryStore()
    await v1_on(store).create(id="y", title="bread", order=1)
    await replicate_as(TodoV1, store, server)
    await (await v1_on(store).find_by_id("y")).update(completed=True)
    await migrate_store(server, [Todo])
    await migrate_store(store, [Todo])
    await (await v2_on(server).find_by_id("y")).update(due="2027-02-02")
    pushed = await replicate_as(Todo, store, server)
    assert pushed.count("merged") == 1 and pushed.conflicts == [], pushed.counts
    await replicate_as(Todo, server, store)
    both = (await store.get("todos", "y")).data
    assert both == (await server.get("todos", "y")).data
    assert (both["completed"], both["due"]) == (True, "2027-02-02"), both


class Counted(Model):
    """A model whose step is visibly not idempotent (one "!" per run) and fails on demand."""

    collection = "counted"
    name = String()
    version = 2
    fail_on: str | None = None

    @staticmethod
    def add_mark(data: dict) -> dict:
        if data.get("name") == Counted.fail_on:
            raise RuntimeError(f"failing on {data['name']}")
        return {**data, "name": data["name"] + "!"}

    migrations = {1: add_mark}


class CountedV1(Model):
    collection = "counted"
    name = String()


@case
async def version_interrupted_migration_resumes_where_it_stopped(store):
    """A start that fails between two pages (here: a step raising on the fourth document)
    keeps what it committed; the next start migrates the rest, none of them twice."""
    old = CountedV1.using(store)
    for n in range(7):
        await old.create(id=f"n{n}", name=f"n{n}")
    Counted.fail_on = "n3"
    try:
        error = await raises(ModelVersionError, migrate_store(store, [Counted], batch_size=2))
        assert error.details == {"model": "Counted", "version": 1, "id": "n3"}, error.details
        assert "failing on n3" in str(error), error
    finally:
        Counted.fail_on = None
    names = {d.id: d.data["name"] for d in await store.feed("counted", 0, 100)}
    assert names == {"n0": "n0!", "n1": "n1!", "n2": "n2", "n3": "n3", "n4": "n4",
                     "n5": "n5", "n6": "n6"}, names
    assert await stored_version(store, "counted") == 1
    assert await store.adapter.read_mark(PROGRESS_MARK + "counted") > 0
    seen = []
    assert await migrate_store(store, [Counted], batch_size=2,
                               on_progress=lambda *a: seen.append(a[1:])) == {"counted": 5}
    names = {d.id: d.data["name"] for d in await store.feed("counted", 0, 100)}
    assert names == {f"n{n}": f"n{n}!" for n in range(7)}, names
    assert [done for done, _ in seen] in ([0, 2, 4, 5], [0, 2, 4, 5, 5]), seen
    assert seen[-1] == (5, 5) and all(total >= done for done, total in seen), seen
    assert await stored_version(store, "counted") == 2


@case
async def version_store_of_newer_or_unreachable_version_is_refused_before_writing(store):
    await v1_on(store).create(id="z", title="z", order=1)
    await migrate_store(store, [Todo])

    class Older(Model):
        collection = "todos"
        title = String()

    error = await raises(ModelVersionError, migrate_store(store, [Older]))
    assert f"version {Todo.version}" in str(error) and "Older" in str(error), error

    class Reset(Model):
        collection = "counted"
        name = String()
        version = 3
        migrations = {2: lambda d: d}  # the step from 1 was dropped

    await CountedV1.using(store).create(id="q", name="q")
    before = await store.feed("counted", 0, 10)
    error = await raises(ModelVersionError, migrate_store(store, [Todo, Reset]))
    assert "Reset" in str(error) and "version 1" in str(error), error
    assert await store.feed("counted", 0, 10) == before
