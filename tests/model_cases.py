"""The shared model test cases: one set of async cases, run on CPython and inside Pyodide.

Standard library and `models` only (no pytest, no sqlite3), because the browser runner imports this
module inside Pyodide. Each case is an `async def name(store)` that receives a fresh, empty store.
Cases about one store's mechanics (Web Storage keys, quota, corrupt entries) build the storage they
need themselves, so they run the same way whatever store they are handed.

    results = await run_all(MemoryStore)          # [{"name", "ok", "error"}, ...]
"""

from __future__ import annotations

import inspect
import json
import re
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from models import (
    ALL,
    ALLOW,
    AUTHENTICATED,
    DENY,
    EVERYONE,
    OWNER,
    READ,
    REPLICATE,
    WRITE,
    AccessDeniedError,
    AccessRule,
    Boolean,
    Change,
    ChangeType,
    CheckpointExpiredError,
    ConflictError,
    CorruptEntryError,
    DictStorage,
    Document,
    FilterError,
    MemoryStore,
    Model,
    NotFoundError,
    Number,
    OffsyncError,
    StorageFullError,
    String,
    Todo,
    TransportError,
    ValidationError,
    WebStorageStore,
    replicate,
    stored_conflicts,
    sync,
)
from models.access import is_allowed
from models.revisions import generation, next_revision
from models.stores.webstorage import QuotaExceededError

CASES: list = []


def case(fn):
    """Register an async case `fn(store)` under its function name."""
    CASES.append(fn)
    return fn


# ---- helpers ----------------------------------------------------------------------------------

REV = re.compile(r"^[1-9][0-9]*-[0-9a-f]{32}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def raises(exc_type: type[BaseException], coro: Awaitable[Any]) -> BaseException:
    """Await `coro` and return the `exc_type` it raised; fail if it raised nothing."""
    try:
        await coro
    except exc_type as exc:
        return exc
    raise AssertionError(f"expected {exc_type.__name__}, but nothing was raised")


def raises_sync(exc_type: type[BaseException], fn: Callable[..., Any], *args: Any,
                **kw: Any) -> BaseException:
    try:
        fn(*args, **kw)
    except exc_type as exc:
        return exc
    raise AssertionError(f"expected {exc_type.__name__} from {fn.__name__}, nothing was raised")


class Item(Model):
    """A small model for filter cases: every field may be null, unlike Todo's."""

    collection = "items"
    name = String()
    rank = Number()
    flag = Boolean()
    note = String()


ITEMS = [
    {"id": "a", "name": "apple", "rank": 3, "flag": True, "note": None},
    {"id": "b", "name": "Banana", "rank": 1, "flag": False, "note": "yellow"},
    {"id": "c", "name": "cherry", "rank": 2, "flag": True, "note": "red"},
    {"id": "d", "name": "date", "rank": None, "flag": None, "note": "brown"},
    {"id": "e", "name": "elder_berry", "rank": 2.5, "flag": False, "note": "100%"},
    {"id": "f", "name": "fig", "rank": 2, "flag": False, "note": None},
]


async def seed_items(store, rows=ITEMS) -> type[Item]:
    Items = Item.using(store)
    for row in reversed(rows):  # insertion order must not leak into results
        await Items.create(**row)
    return Items


def ids(objs) -> list[str]:
    return [o.id for o in objs]


class FakeClock:
    """A clock the case moves by hand, so timestamps never depend on timing."""

    def __init__(self) -> None:
        self.second = 0

    def __call__(self) -> str:
        return f"2024-01-01T00:00:{self.second:02d}.000Z"

    def tick(self) -> None:
        self.second += 1


def snapshot(storage) -> list[tuple[str, str]]:
    """Every key and value of a Web Storage look-alike, to compare states exactly."""
    keys = [storage.key(i) for i in range(storage.length)]
    return sorted((k, storage.getItem(k)) for k in keys)


def used_chars(storage) -> int:
    return sum(len(k) + len(v) for k, v in snapshot(storage))


class RecordingStorage:
    """Wraps a Storage and records every call, to check which keys a write touches."""

    def __init__(self, inner=None) -> None:
        self.inner = inner if inner is not None else DictStorage()
        self.log: list[tuple[str, Any]] = []

    @property
    def length(self) -> int:
        self.log.append(("length", None))
        return self.inner.length

    def key(self, index: int):
        self.log.append(("key", index))
        return self.inner.key(index)

    def getItem(self, key: str):
        self.log.append(("get", key))
        return self.inner.getItem(key)

    def setItem(self, key: str, value: str) -> None:
        self.log.append(("set", key))
        self.inner.setItem(key, value)

    def removeItem(self, key: str) -> None:
        self.log.append(("remove", key))
        self.inner.removeItem(key)

    def touched(self) -> set[str]:
        return {key for op, key in self.log if op in ("set", "remove")}

    def scanned(self) -> bool:
        return any(op in ("key", "length") for op, _ in self.log)


class FailingStorage(RecordingStorage):
    """Fails the n-th setItem (or the next removeItem) after `arm()`, like a full browser."""

    def __init__(self, inner=None) -> None:
        super().__init__(inner)
        self.fail_set_at: int | None = None
        self.fail_remove: BaseException | None = None
        self.error: BaseException = QuotaExceededError("QuotaExceededError: quota exceeded")
        self.sets = 0

    def arm(self, fail_set_at: int | None = None, error: BaseException | None = None,
            fail_remove: BaseException | None = None) -> None:
        self.sets = 0
        self.fail_set_at = fail_set_at
        self.fail_remove = fail_remove
        if error is not None:
            self.error = error

    def disarm(self) -> None:
        self.fail_set_at = None
        self.fail_remove = None

    def setItem(self, key: str, value: str) -> None:
        self.sets += 1
        if self.fail_set_at is not None and self.sets == self.fail_set_at:
            raise self.error
        super().setItem(key, value)

    def removeItem(self, key: str) -> None:
        error, self.fail_remove = self.fail_remove, None  # fail once, so the undo can run
        if error is not None:
            raise error
        super().removeItem(key)


class TabClosed(Exception):
    """The tab is gone: nothing more it does reaches the storage."""


class DyingStorage:
    """Lets `budget` setItem/removeItem calls through, then dies like a closed tab: every later
    write raises and changes nothing, so no undo can run either (None: never dies)."""

    def __init__(self, inner, budget: int | None = None) -> None:
        self.inner = inner
        self.budget = budget

    @property
    def length(self) -> int:
        return self.inner.length

    def key(self, index: int):
        return self.inner.key(index)

    def getItem(self, key: str):
        return self.inner.getItem(key)

    def _spend(self) -> None:
        if self.budget is not None:
            if self.budget <= 0:
                raise TabClosed("the tab was closed")
            self.budget -= 1

    def setItem(self, key: str, value: str) -> None:
        self._spend()
        self.inner.setItem(key, value)

    def removeItem(self, key: str) -> None:
        self._spend()
        self.inner.removeItem(key)


def app_state(storage, prefix: str) -> dict[str, str]:
    """One app's keys (without its prefix) and values, to compare two states exactly."""
    keys = [storage.key(i) for i in range(storage.length)]
    return {k[len(prefix):]: storage.getItem(k) for k in keys
            if isinstance(k, str) and k.startswith(prefix)}


class RecordingRemote(MemoryStore):
    """A stand-in server that remembers every revision pushed to it."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, str]] = []

    async def apply(self, model, docs, **kw):
        self.received += [(doc.id, doc.rev) for doc in docs]
        return await super().apply(model, docs, **kw)


# ---- create, read, update, delete -------------------------------------------------------------

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


# ---- validation -------------------------------------------------------------------------------

@case
async def title_is_trimmed(store):
    T = Todo.using(store)
    todo = await T.create(title="  \t spaced out \n ")
    assert todo.title == "spaced out", f"title not trimmed: {todo.title!r}"
    assert (await T.find_by_id(todo.id)).title == "spaced out", "the stored title is not trimmed"


@case
async def title_500_ok_501_rejected(store):
    T = Todo.using(store)
    ok = await T.create(title="x" * 500)
    assert len(ok.title) == 500
    padded = await T.create(title="  " + "y" * 500 + "  ")
    assert len(padded.title) == 500, "trimming must happen before the length check"
    exc = await raises(ValidationError, T.create(title="z" * 501))
    assert list(exc.details) == ["title"], f"only title is wrong: {exc.details}"
    assert "500" in exc.details["title"][0], f"say the limit: {exc.details['title']}"
    assert "title" in str(exc), f"message must name the field: {exc}"
    assert await T.count() == 2


@case
async def title_empty_or_whitespace_rejected(store):
    T = Todo.using(store)
    for bad in ("", "   ", "\n\t", None):
        exc = await raises(ValidationError, T.create(title=bad))
        assert "title" in exc.details, f"title={bad!r} must be rejected on title: {exc.details}"
    exc = await raises(ValidationError, T.create())
    assert exc.details == {"title": ["is required"]}, f"missing title: {exc.details}"
    assert await T.count() == 0


@case
async def wrong_types_rejected(store):
    T = Todo.using(store)
    for values, field in [
        ({"title": 5}, "title"),
        ({"title": ["a"]}, "title"),
        ({"title": "ok", "completed": "yes"}, "completed"),
        ({"title": "ok", "completed": 1}, "completed"),
        ({"title": "ok", "completed": None}, "completed"),
        ({"title": "ok", "order": "first"}, "order"),
        ({"title": "ok", "order": float("nan")}, "order"),
        ({"title": "ok", "created_at": "yesterday"}, "created_at"),
    ]:
        exc = await raises(ValidationError, T.create(**values))
        assert list(exc.details) == [field], f"{values!r}: expected only {field}: {exc.details}"
        assert field in exc.message, f"message must name {field}: {exc.message}"
        assert exc.status == 422 and exc.code == "VALIDATION_FAILED"
    assert await T.count() == 0


@case
async def unknown_field_rejected(store):
    T = Todo.using(store)
    exc = await raises(ValidationError, T.create(title="x", priority=3))
    assert exc.details == {"priority": ["is not a field of this model"]}, exc.details
    todo = await T.create(title="x")
    exc = await raises(ValidationError, todo.update(colour="red"))
    assert "colour" in exc.details
    assert (await T.find_by_id(todo.id))._rev == todo._rev, "a rejected update wrote"
    raises_sync(ValidationError, T.from_dict, {"title": "x", "bogus": 1})


@case
async def validation_names_every_bad_field(store):
    T = Todo.using(store)
    exc = await raises(ValidationError, T.create(title=5, completed="yes"))
    assert set(exc.details) == {"title", "completed"}, f"both fields are wrong: {exc.details}"
    assert "title" in str(exc) and "completed" in str(exc), str(exc)
    assert exc.to_dict()["details"] == exc.details


@case
async def validation_failure_writes_nothing(store):
    T = Todo.using(store)
    await raises(ValidationError, T.create(title=""))
    assert await store.checkpoint() == 0, "a rejected create changed the checkpoint"
    assert await store.changes("todos") == [], "a rejected create recorded a change"
    assert await T.count() == 0
    todo = await T.create(title="valid")
    checkpoint = await store.checkpoint()
    await raises(ValidationError, todo.update(title="   "))
    assert await store.checkpoint() == checkpoint, "a rejected update changed the checkpoint"
    stored = await T.find_by_id(todo.id)
    assert stored.title == "valid" and stored._rev == todo._rev, \
        f"a rejected update wrote {stored!r}"


@case
async def defaults(store):
    T = Todo.using(store)
    fresh = T(title="x")
    assert fresh.completed is False and fresh.order is None and fresh.created_at is None
    todo = await T.create(title="x")
    assert todo.completed is False, "completed defaults to False"
    assert isinstance(todo.order, (int, float)), f"order is filled on save: {todo.order!r}"
    assert ISO.match(todo.created_at) and ISO.match(todo.updated_at), todo.to_dict()
    assert todo.created_at == todo.updated_at, "one clock reading per save"
    later = await T.create(title="y")
    assert later.order >= todo.order, "new todos go last"
    found = await T.find_by_id(todo.id)
    assert found.completed is False and found.order == todo.order


@case
async def created_at_set_once_updated_at_changes(store):
    clock = FakeClock()
    T = Todo.using(store)
    T.clock = staticmethod(clock)
    todo = await T.create(title="clocked")
    assert todo.created_at == todo.updated_at == "2024-01-01T00:00:00.000Z", todo.to_dict()
    clock.tick()
    await todo.update(completed=True)
    assert todo.created_at == "2024-01-01T00:00:00.000Z", "created_at must not move"
    assert todo.updated_at == "2024-01-01T00:00:01.000Z", "updated_at must follow the clock"
    clock.tick()
    copy = await T.find_by_id(todo.id)
    assert copy.created_at == todo.created_at and copy.updated_at == todo.updated_at
    await copy.save()
    assert copy.created_at == "2024-01-01T00:00:00.000Z"
    assert copy.updated_at == "2024-01-01T00:00:02.000Z"


# ---- hooks ------------------------------------------------------------------------------------

@case
async def hooks_called_in_order(store):
    events: list[tuple] = []

    class Hooked(Todo):
        def before_save(self, is_new):
            events.append(("before_save", is_new, self._rev))
            super().before_save(is_new)
            self.title = self.title.upper()

        async def after_save(self, is_new):
            stored = await type(self).find_by_id(self.id)
            events.append(("after_save", is_new, self._rev == stored._rev))

        def before_delete(self):
            events.append(("before_delete",))

        async def after_delete(self):
            events.append(("after_delete", await type(self).find_by_id(self.id)))

    H = Hooked.using(store)
    todo = await H.create(title="shout")
    assert todo.title == "SHOUT", "before_save may change fields before validation"
    assert (await H.find_by_id(todo.id)).title == "SHOUT", "the hook's change was not stored"
    await todo.update(completed=True)
    await todo.delete()
    assert events == [
        ("before_save", True, None),
        ("after_save", True, True),
        ("before_save", False, events[2][2]),
        ("after_save", False, True),
        ("before_delete",),
        ("after_delete", None),
    ], f"hooks ran as {events}"
    assert events[2][2] is not None, "before_save on update sees the current revision"


@case
async def hook_failure_aborts_write(store):
    class Refusing(Todo):
        def before_save(self, is_new):
            if self.title == "forbidden":
                raise ValueError("no")
            super().before_save(is_new)

        async def before_delete(self):
            if self.title == "keep":
                raise ValueError("keep me")

    R = Refusing.using(store)
    await raises(ValueError, R.create(title="forbidden"))
    assert await R.count() == 0 and await store.checkpoint() == 0, "a refused save wrote"
    kept = await R.create(title="keep")
    await raises(ValueError, kept.delete())
    assert await R.find_by_id(kept.id) is not None, "a refused delete deleted"


@case
async def after_save_not_called_when_validation_fails(store):
    events: list[str] = []

    class Watched(Todo):
        def after_save(self, is_new):
            events.append("after_save")

    W = Watched.using(store)
    await raises(ValidationError, W.create(title=""))
    assert events == [], f"after_save ran for a rejected save: {events}"


# ---- JSON -------------------------------------------------------------------------------------

@case
async def json_round_trip(store):
    T = Todo.using(store)
    todo = await T.create(title="Café ✓ 🎉 \"quoted\"", completed=True)
    text = todo.to_json()
    assert "Café" in text, "to_json keeps non-ASCII text readable"
    back = T.from_json(text)
    assert back == todo and back._rev == todo._rev, f"{back!r} rev={back._rev} != {todo!r}"
    again = T.from_dict(todo.to_dict(), rev=todo._rev)
    assert again == todo and again._rev == todo._rev
    assert set(todo.to_dict()) == set(T.fields) == {
        "id", "title", "completed", "created_at", "updated_at", "order", "owner"}, todo.to_dict()
    assert json.loads(text)["_rev"] == todo._rev
    stored = await T.find_by_id(todo.id)
    assert stored.to_json() == text, "the store changed the document's JSON"


@case
async def from_json_rejects_garbage(store):
    for text in ("{not json", "[1, 2]", "null", '"title"'):
        exc = raises_sync(ValidationError, Todo.from_json, text)
        assert "_json" in exc.details, f"{text!r}: {exc.details}"


@case
async def unicode_and_floats_survive_the_store(store):
    T = Todo.using(store)
    title = "naïve 日本語 🎉 \\ \u2028 end"
    todo = await T.create(title=title, order=0.1 + 0.2)
    found = await T.find_by_id(todo.id)
    assert found.title == title, f"{found.title!r} != {title!r}"
    assert found.order == 0.1 + 0.2, f"float changed in the store: {found.order!r}"
    assert (await T.find(where={"title": title}))[0].id == todo.id


# ---- conflicts --------------------------------------------------------------------------------

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


# ---- revisions --------------------------------------------------------------------------------

@case
async def rev_generation_increments(store):
    T = Todo.using(store)
    todo = await T.create(title="rev")
    revs = [todo._rev]
    await todo.update(title="rev 2")
    revs.append(todo._rev)
    await todo.update(completed=True)
    revs.append(todo._rev)
    for rev in revs:
        assert REV.match(rev), f"rev {rev!r} is not <generation>-<32 hex>"
    assert [generation(r) for r in revs] == [1, 2, 3], revs
    await todo.delete()
    tomb = await store.get_any("todos", todo.id)
    assert generation(tomb.rev) == 4 and tomb.prev == revs[-1], f"tombstone {tomb}"


@case
async def store_revs_follow_the_shared_scheme(store):
    data = {"id": "s1", "title": "same", "n": 1}
    first = await store.write("notes", "s1", data, base_rev=None)
    assert first.rev == next_revision(None, data), "stores must compute revs with next_revision"
    second = await store.write("notes", "s1", {**data, "n": 2}, base_rev=first.rev)
    assert second.rev == next_revision(first.rev, {**data, "n": 2}) and second.prev == first.rev
    gone = await store.write("notes", "s1", None, base_rev=second.rev)
    assert gone.rev == next_revision(second.rev, None, deleted=True) and gone.deleted
    other = MemoryStore()
    mirrored = await other.write("notes", "s1", dict(reversed(list(data.items()))), base_rev=None)
    assert mirrored.rev == first.rev, "same content and parent must give the same rev anywhere"


@case
async def next_revision_is_deterministic(store):
    a = next_revision(None, {"x": 1, "y": [1, 2]})
    assert a == next_revision(None, {"y": [1, 2], "x": 1}), "key order must not matter"
    assert a.startswith("1-") and REV.match(a)
    assert next_revision(a, {"x": 1}) == next_revision(a, {"x": 1})
    assert next_revision(a, {"x": 1}).startswith("2-")
    assert next_revision(a, {"x": 2}) != next_revision(a, {"x": 1}), "content is in the hash"
    b = next_revision(None, {"x": 2})
    assert next_revision(a, {"z": 0}) != next_revision(b, {"z": 0}), "the parent is in the hash"
    assert next_revision(a, None, deleted=True) != next_revision(a, None)
    assert generation(None) == 0 and generation("garbage") == 0 and generation("12-ab") == 12
    assert next_revision("garbage", {}).startswith("1-")


# ---- changes and checkpoints ------------------------------------------------------------------

@case
async def checkpoint_only_grows(store):
    T = Todo.using(store)
    assert await store.checkpoint() == 0, "an empty store starts at checkpoint 0"
    seen = [0]

    async def step(expect_growth: bool) -> None:
        now = await store.checkpoint()
        if expect_growth:
            assert now > seen[-1], f"checkpoint did not grow: {seen} then {now}"
        else:
            assert now == seen[-1], f"checkpoint moved without a write: {seen} then {now}"
        seen.append(now)

    todo = await T.create(title="a")
    await step(True)
    await todo.update(title="b")
    await step(True)
    await raises(ValidationError, todo.update(title=""))
    await step(False)
    stale = T.from_dict(todo.to_dict(), rev="1-" + "0" * 32)
    await raises(ConflictError, stale.update(title="c"))
    await step(False)
    await T.find()
    await store.changes("todos")
    await step(False)
    await (await T.find_by_id(todo.id)).delete()
    await step(True)
    await T.create(title="d")
    await step(True)


@case
async def changes_newest_per_doc_in_checkpoint_order(store):
    T = Todo.using(store)
    a = await T.create(title="a")
    b = await T.create(title="b")
    since = await store.checkpoint()
    c = await T.create(title="c")
    await a.update(title="a2")
    await a.update(title="a3")
    await b.delete()
    changes = await store.changes("todos", since)
    assert [ch.id for ch in changes] == [c.id, a.id, b.id], f"order/newest-only: {changes}"
    assert [ch.type for ch in changes] == [ChangeType.CREATE, ChangeType.UPDATE, ChangeType.DELETE]
    points = [ch.checkpoint for ch in changes]
    assert points == sorted(points) and len(set(points)) == 3 and points[0] > since, points
    assert points[-1] == await store.checkpoint(), "the last change is at the current checkpoint"
    assert changes[1].rev == a._rev and generation(a._rev) == 3, "only a's newest revision"
    everything = await store.changes("todos", 0)
    assert [ch.id for ch in everything] == [c.id, a.id, b.id], "one change per document"
    assert await store.changes("todos", await store.checkpoint()) == []
    assert all(isinstance(ch, Change) for ch in everything)


@case
async def changes_limit_pages(store):
    T = Todo.using(store)
    made = [await T.create(title=f"t{i}") for i in range(7)]
    await made[0].update(title="t0 again")
    expected = [t.id for t in made[1:]] + [made[0].id]
    pages, since = [], 0
    while True:
        page = await store.changes("todos", since, limit=3)
        assert len(page) <= 3, f"limit 3 returned {len(page)}"
        if not page:
            break
        pages.append([ch.id for ch in page])
        since = page[-1].checkpoint
    assert [len(p) for p in pages] == [3, 3, 1], f"pages: {pages}"
    assert [id for page in pages for id in page] == expected, \
        "paging lost, repeated or reordered changes"


@case
async def changes_limit_zero_returns_nothing(store):
    T = Todo.using(store)
    for i in range(3):
        await T.create(title=f"t{i}")
    got = await store.changes("todos", 0, limit=0)
    assert got == [], f"limit=0 must return no changes, got {len(got)}"
    assert len(await store.changes("todos", 0, limit=1)) == 1


@case
async def changes_of_other_models_excluded(store):
    T, Items = Todo.using(store), Item.using(store)
    t = await T.create(title="todo")
    i = await Items.create(name="item")
    await t.update(title="todo 2")
    assert [ch.id for ch in await store.changes("todos")] == [t.id]
    assert [ch.id for ch in await store.changes("items")] == [i.id]
    assert len(await store.changes("items", 0, limit=1)) == 1
    assert await store.checkpoint() == 3, "one checkpoint sequence per store, across models"
    assert await store.changes("nothing") == []


@case
async def delete_records_tombstone_change(store):
    T = Todo.using(store)
    todo = await T.create(title="bye")
    rev = todo._rev
    since = await store.checkpoint()
    await todo.delete()
    changes = await store.changes("todos", since)
    assert len(changes) == 1, f"a delete must record one change: {changes}"
    change = changes[0]
    assert change.type is ChangeType.DELETE and change.prev == rev, change
    assert generation(change.rev) == 2 and change.checkpoint == since + 1, change
    tomb = await store.get_any("todos", todo.id)
    assert tomb.deleted and tomb.data is None and tomb.rev == change.rev, tomb
    assert await store.get("todos", todo.id) is None
    assert Change.from_dict(change.to_dict()) == change
    assert change.to_dict()["type"] == "delete"


# ---- where ------------------------------------------------------------------------------------

async def _expect(Items, where, expected, **kw):
    got = ids(await Items.find(where=where, **kw))
    assert got == expected, f"where={where!r} {kw or ''}: expected {expected}, got {got}"
    count = await Items.count(where=where)
    if not kw:
        assert count == len(expected), f"count(where={where!r}) = {count}, find gave {got}"


@case
async def where_eq_neq(store):
    Items = await seed_items(store)
    await _expect(Items, {"rank": 2}, ["c", "f"])
    await _expect(Items, {"rank": {"eq": 2}}, ["c", "f"])
    await _expect(Items, {"rank": 2.0}, ["c", "f"])
    await _expect(Items, {"name": "apple"}, ["a"])
    await _expect(Items, {"name": "APPLE"}, [])
    await _expect(Items, {"rank": {"neq": 2}}, ["a", "b", "e"])
    await _expect(Items, {"name": {"neq": "apple"}}, ["b", "c", "d", "e", "f"])
    await _expect(Items, {"rank": "2"}, [])
    await _expect(Items, {"id": "e"}, ["e"])
    await _expect(Items, {"rank": 2, "flag": True}, ["c"])


@case
async def where_comparisons(store):
    Items = await seed_items(store)
    await _expect(Items, {"rank": {"gt": 2}}, ["a", "e"])
    await _expect(Items, {"rank": {"gte": 2}}, ["a", "c", "e", "f"])
    await _expect(Items, {"rank": {"lt": 2}}, ["b"])
    await _expect(Items, {"rank": {"lte": 2}}, ["b", "c", "f"])
    await _expect(Items, {"rank": {"gt": 2.4}}, ["a", "e"])
    await _expect(Items, {"name": {"gt": "c"}}, ["c", "d", "e", "f"])
    await _expect(Items, {"name": {"lt": "a"}}, ["b"])
    await _expect(Items, {"rank": {"gt": None}}, [])


@case
async def where_inq_nin_between(store):
    Items = await seed_items(store)
    await _expect(Items, {"rank": {"inq": [1, 3]}}, ["a", "b"])
    await _expect(Items, {"rank": {"nin": [1, 3]}}, ["c", "e", "f"])
    await _expect(Items, {"name": {"inq": ["fig", "date", "kiwi"]}}, ["d", "f"])
    await _expect(Items, {"rank": {"inq": []}}, [])
    await _expect(Items, {"rank": {"nin": []}}, ["a", "b", "c", "e", "f"])
    await _expect(Items, {"note": {"inq": [None, "red"]}}, ["c"])
    await _expect(Items, {"rank": {"between": [2, 3]}}, ["a", "c", "e", "f"])
    await _expect(Items, {"rank": {"between": [1.5, 2.5]}}, ["c", "e", "f"])
    await _expect(Items, {"rank": {"between": [3, 2]}}, [])
    await _expect(Items, {"name": {"between": ["b", "d"]}}, ["c"])


@case
async def where_like_nlike(store):
    Items = await seed_items(store)
    await _expect(Items, {"name": {"like": "%an%"}}, ["b"])
    await _expect(Items, {"name": {"like": "ban%"}}, ["b"])
    await _expect(Items, {"name": {"like": "%E%"}}, ["a", "c", "d", "e"])
    await _expect(Items, {"name": {"like": "_ig"}}, ["f"])
    await _expect(Items, {"name": {"like": "fi"}}, [])
    await _expect(Items, {"name": {"like": "elder_berry"}}, ["e"])
    await _expect(Items, {"note": {"like": "100%"}}, ["e"])
    await _expect(Items, {"name": {"nlike": "%e%"}}, ["b", "f"])
    await _expect(Items, {"note": {"nlike": "%r%"}}, ["b", "e"])
    await _expect(Items, {"rank": {"like": "%"}}, [])


@case
async def where_null_handling(store):
    Items = await seed_items(store)
    await _expect(Items, {"note": None}, ["a", "f"])
    await _expect(Items, {"note": {"eq": None}}, ["a", "f"])
    await _expect(Items, {"note": {"neq": None}}, ["b", "c", "d", "e"])
    await _expect(Items, {"rank": None}, ["d"])
    await _expect(Items, {"note": {"neq": "red"}}, ["b", "d", "e"])
    await _expect(Items, {"rank": {"lt": 100}}, ["a", "b", "c", "e", "f"])
    await _expect(Items, {"rank": {"between": [None, 3]}}, [])


@case
async def where_booleans(store):
    Items = await seed_items(store)
    await _expect(Items, {"flag": True}, ["a", "c"])
    await _expect(Items, {"flag": False}, ["b", "e", "f"])
    await _expect(Items, {"flag": {"eq": False}}, ["b", "e", "f"])
    await _expect(Items, {"flag": {"neq": True}}, ["b", "e", "f"])
    await _expect(Items, {"flag": None}, ["d"])
    await _expect(Items, {"flag": {"inq": [True, None]}}, ["a", "c"])
    T = Todo.using(store)
    done = await T.create(title="done", completed=True)
    await T.create(title="open")
    assert ids(await T.find(where={"completed": True})) == [done.id]


@case
async def where_and_or(store):
    Items = await seed_items(store)
    await _expect(Items, {"and": [{"flag": False}, {"rank": {"gte": 2}}]}, ["e", "f"])
    await _expect(Items, {"or": [{"rank": 1}, {"note": "red"}]}, ["b", "c"])
    await _expect(Items, {"or": [{"and": [{"flag": True}, {"rank": {"gt": 2}}]}, {"name": "fig"}]},
                  ["a", "f"])
    await _expect(Items, {"flag": False, "or": [{"rank": 1}, {"rank": 2}]}, ["b", "f"])
    await _expect(Items, {"and": [{"or": [{"note": None}, {"note": "red"}]}, {"rank": {"lt": 3}}]},
                  ["c", "f"])
    await _expect(Items, {"or": [{"name": "nothing"}]}, [])
    await _expect(Items, {"and": [{}]}, ["a", "b", "c", "d", "e", "f"])


@case
async def large_integers_compare_exactly(store):
    Items = Item.using(store)
    big = 2**53
    await Items.create(id="low", rank=big)
    await Items.create(id="high", rank=big + 1)
    assert (await Items.find_by_id("high")).rank == big + 1, "the store changed a large integer"
    got = ids(await Items.find(where={"rank": big + 1}))
    assert got == ["high"], f"rank == 2**53+1 matched {got}; numbers must compare exactly"
    got = ids(await Items.find(where={"rank": {"gt": big}}))
    assert got == ["high"], f"rank > 2**53 matched {got}"
    got = ids(await Items.find(order="rank DESC"))
    assert got == ["high", "low"], f"rank DESC gave {got}"


# ---- order, limit, skip -----------------------------------------------------------------------

@case
async def order_asc_desc_multi_key(store):
    Items = await seed_items(store)
    await _expect(Items, None, ["a", "b", "c", "d", "e", "f"])
    await _expect(Items, None, ["d", "b", "c", "f", "e", "a"], order="rank ASC")
    await _expect(Items, None, ["d", "b", "c", "f", "e", "a"], order="rank")
    await _expect(Items, None, ["d", "b", "c", "f", "e", "a"], order="rank asc")
    await _expect(Items, None, ["a", "e", "c", "f", "b", "d"], order="rank DESC")
    await _expect(Items, None, ["c", "a", "b", "f", "e", "d"], order=["flag DESC", "rank ASC"])
    await _expect(Items, None, ["b", "a", "c", "d", "e", "f"], order="name")
    await _expect(Items, None, ["f", "a", "e", "d", "c", "b"], order=["note ASC", "name DESC"])
    await _expect(Items, {"flag": False}, ["e", "f", "b"], order="rank DESC")


@case
async def order_ties_stable_by_id(store):
    Items = Item.using(store)
    for id in ("m3", "m1", "m5", "m2", "m4"):
        await Items.create(id=id, rank=7 if id in ("m1", "m3", "m4") else 1)
    assert ids(await Items.find(order="rank ASC")) == ["m2", "m5", "m1", "m3", "m4"]
    assert ids(await Items.find(order="rank DESC")) == ["m1", "m3", "m4", "m2", "m5"]
    assert ids(await Items.find(order="note DESC")) == ["m1", "m2", "m3", "m4", "m5"]
    T = Todo.using(store)
    for _ in range(4):
        await T.create(title="same", order=1)
    ties = await T.find(order="order ASC")
    assert ids(ties) == sorted(ids(ties)), "ties must come back in id order"


@case
async def limit_skip_paging(store):
    Items = await seed_items(store)
    full = ids(await Items.find(order="rank ASC"))
    pages = [ids(await Items.find(order="rank ASC", limit=2, skip=s)) for s in (0, 2, 4, 6)]
    assert pages == [full[0:2], full[2:4], full[4:6], []], f"pages {pages} of {full}"
    assert ids(await Items.find(order="rank ASC", skip=4)) == full[4:], "skip without limit"
    assert ids(await Items.find(order="rank ASC", limit=0)) == []
    assert ids(await Items.find(order="rank ASC", limit=100)) == full
    found = await Items.find(where={"flag": False}, order="rank ASC", limit=2, skip=1)
    assert ids(found) == ["f", "e"]
    first = await Items.find_one(order="rank DESC")
    assert first.id == "a", f"find_one honours order: {first!r}"
    assert (await Items.find_one(where={"flag": False}, order="name DESC")).id == "f"
    assert await Items.count(where={"flag": False}) == 3, "count ignores paging"


@case
async def bad_filters_raise_filter_error(store):
    Items = await seed_items(store)
    checkpoint = await store.checkpoint()
    bad = [
        {"where": {"nope": 1}},
        {"where": {"or": [{"nope": 1}]}},
        {"where": {"name": {"regexp": "a"}}},
        {"where": {"name": {"eq": "a", "neq": "b"}}},
        {"where": {"name": {}}},
        {"where": {"and": []}},
        {"where": {"or": {"name": "a"}}},
        {"where": {"rank": {"inq": 1}}},
        {"where": {"rank": {"inq": [[1]]}}},
        {"where": {"rank": {"between": [1, 2, 3]}}},
        {"where": {"name": {"like": 5}}},
        {"where": {"name": ["a", "b"]}},
        {"where": {"name": {"eq": {"a": 1}}}},
        {"where": "name = 'a'"},
        {"limit": -1},
        {"limit": "10"},
        {"limit": True},
        {"limit": 10_000_000},
        {"skip": -1},
        {"skip": 1.5},
        {"order": "rank SIDEWAYS"},
        {"order": "nope ASC"},
        {"order": "rank ASC extra"},
        {"order": 5},
        {"order": {"rank": "ASC"}},
        {"order": ["rank ASC", 3]},
        {"order": ["rank; DROP TABLE documents"]},
    ]
    for kw in bad:
        exc = await raises(FilterError, Items.find(**kw))
        assert exc.status == 400 and exc.code == "INVALID_FILTER", exc.to_dict()
    await raises(FilterError, Items.count(where={"nope": 1}))
    await raises(FilterError, Items.find_one(order="nope"))
    assert await Items.count() == 6 and await store.checkpoint() == checkpoint


# ---- access rules -----------------------------------------------------------------------------

@case
async def access_everyone_authenticated_owner(store):
    assert is_allowed([AccessRule(EVERYONE, READ)], READ)
    assert is_allowed([AccessRule(EVERYONE, READ)], READ, user_id="u1")
    auth = [AccessRule(AUTHENTICATED, ALL)]
    assert not is_allowed(auth, READ), "anonymous is not $authenticated"
    assert is_allowed(auth, WRITE, user_id="u1")
    own = [AccessRule(OWNER, WRITE)]
    assert is_allowed(own, WRITE, user_id="u1", owner_id="u1")
    assert not is_allowed(own, WRITE, user_id="u2", owner_id="u1"), "not the owner"
    assert not is_allowed(own, WRITE, user_id=None, owner_id=None), "anonymous owns nothing"
    assert not is_allowed(own, READ, user_id="u1", owner_id="u1"), "a WRITE rule is not READ"
    assert is_allowed([AccessRule(EVERYONE, ALL)], REPLICATE), "* matches every access type"


@case
async def access_deny_wins(store):
    rules = [AccessRule(EVERYONE, ALL, ALLOW), AccessRule(AUTHENTICATED, WRITE, DENY)]
    assert is_allowed(rules, WRITE), "anonymous only matches the ALLOW rule"
    assert not is_allowed(rules, WRITE, user_id="u1"), "a matching DENY beats any ALLOW"
    assert is_allowed(rules, READ, user_id="u1"), "the DENY is for WRITE only"
    rules = [AccessRule(OWNER, ALL, ALLOW), AccessRule(EVERYONE, ALL, DENY)]
    assert is_allowed(rules, READ, user_id="u1", owner_id="u1"), "the most specific role decides"
    assert not is_allowed(rules, READ, user_id="u2", owner_id="u1"), "not the owner: $everyone"
    rules = [AccessRule(OWNER, ALL, ALLOW), AccessRule(OWNER, WRITE, DENY)]
    assert not is_allowed(rules, WRITE, user_id="u1", owner_id="u1"), "DENY wins within a role"


@case
async def access_no_match_denied(store):
    assert not is_allowed([], READ), "no rules, no access"
    assert not is_allowed((), WRITE, user_id="u1", owner_id="u1")
    assert not is_allowed([AccessRule(OWNER, READ)], READ, user_id="u1")
    assert not is_allowed([AccessRule("$admin", ALL)], READ, user_id="u1")
    raises_sync(ValueError, AccessRule, EVERYONE, "DESTROY")
    raises_sync(ValueError, AccessRule, EVERYONE, READ, "MAYBE")


@case
async def model_access_rules(store):
    rules = Todo.OWNER_ONLY  # what a todo's access rules are once accounts exist
    assert not is_allowed(rules, READ), "anonymous reads nothing"
    assert not is_allowed(rules, READ, user_id="u2", owner_id="u1"), "nor does another user"
    assert is_allowed(rules, WRITE, user_id="u1", owner_id="u1"), "the owner does everything"
    assert is_allowed(rules, REPLICATE, user_id="u2"), "any logged-in user may sync"
    assert not is_allowed(rules, REPLICATE), "but not anonymously"

    class Private(Todo):
        acl = (AccessRule(OWNER, ALL, ALLOW), AccessRule(AUTHENTICATED, READ, ALLOW))

    assert Private.can(READ, user_id="u2") and not Private.can(READ)
    assert Private.can(WRITE, user_id="u1", owner_id="u1")
    exc = raises_sync(AccessDeniedError, Private.check_access, WRITE, user_id="u2", owner_id="u1")
    assert exc.status == 403 and exc.details == {"access": WRITE}, exc.to_dict()
    Private.check_access(READ, user_id="u2")


class Private(Todo):
    """Todo with the owner-only rules, whatever Todo itself declares today."""

    acl = Todo.OWNER_ONLY


@case
async def as_user_owns_what_it_creates_and_sees_only_that(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    mine = await Alice.create(title="alice's")
    await Bob.create(title="bob's")
    assert mine.owner == "alice", "a new todo belongs to whoever created it"
    assert [t.title for t in await Alice.find()] == ["alice's"]
    assert await Bob.count() == 1 and await Bob.find_by_id(mine.id) is None, \
        "another user's todo does not exist for Bob"
    assert await Bob.find(where={"title": "alice's"}) == []
    assert await Private.using(store).count() == 2, "the trusted, unscoped view sees both"


@case
async def as_user_refuses_writes_to_other_users_todos(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    mine = await Alice.create(title="alice's")
    stolen = Bob.from_dict(mine.to_dict(), rev=mine._rev)
    exc = await raises(AccessDeniedError, stolen.update(title="bob was here"))
    assert exc.message == "WRITE on todos is not allowed", exc.message  # the server's words
    await raises(AccessDeniedError, stolen.delete())
    forged = Bob(title="forged", owner="alice")
    await raises(AccessDeniedError, forged.save())
    assert [t.title for t in await Alice.find()] == ["alice's"], "nothing was written"


@case
async def anonymous_reads_and_writes_nothing(store):
    Nobody = Private.using(store).as_user(None)
    exc = await raises(AccessDeniedError, Nobody.find())
    assert exc.details == {"access": READ}
    await raises(AccessDeniedError, Nobody.count())
    await raises(AccessDeniedError, Nobody.create(title="anonymous"))
    assert await Private.using(store).count() == 0


@case
async def replicated_documents_are_checked_against_the_owner(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    mine = await Alice.create(title="alice's")
    doc = await store.get("todos", mine.id)
    assert Alice.check_replicated(doc, doc) is None
    problem = Bob.check_replicated(doc, doc)
    assert problem and problem["code"] == "ACCESS_DENIED", problem
    theirs = await store.get("todos", (await Bob.create(title="bob's")).id)
    target = MemoryStore()
    outcomes = await target.apply("todos", [doc, theirs], check=Bob.check_replicated)
    assert [o.status for o in outcomes] == ["rejected", "applied"], outcomes
    assert await target.get("todos", mine.id) is None, "a rejected document is not written"


@case
async def per_user_feed_includes_the_users_tombstones_only(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    gone = await Alice.create(title="to delete")
    await gone.delete()
    await Bob.create(title="bob's")
    alice_feed = await store.feed("todos", 0, owner="alice")
    assert [(d.id, d.deleted) for d in alice_feed] == [(gone.id, True)], alice_feed
    assert all(d.owner == "bob" for d in await store.feed("todos", 0, owner="bob"))


# ---- stores keep their own copies ------------------------------------------------------------

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


# ---- Web Storage specifics (each builds the storage it needs) ----------------------------------

@case
async def ws_keys_touched_per_write(store):
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
    doc = f"{p}todos:doc:{todo.id}"
    assert touched() == {doc, f"{p}chg:2", f"{p}seq"}, f"create: {storage.touched()}"
    storage.log.clear()
    await todo.update(title="mine 2")
    assert touched() == {doc, f"{p}chg:3", f"{p}chg:2", f"{p}seq"}, storage.touched()
    assert ("remove", f"{p}chg:2") in storage.log, "the replaced change key is removed"
    storage.log.clear()
    await todo.delete()
    assert touched() == {doc, f"{p}chg:4", f"{p}chg:3", f"{p}seq"}, storage.touched()
    assert storage.inner.getItem(f"{p}seq") == "4"
    assert storage.inner.getItem(f"{p}todos:doc:{other.id}") is not None
    assert storage.inner.getItem(f"{p}chg:4") == f"todos:{todo.id}"
    entry = json.loads(storage.inner.getItem(doc))
    assert entry["deleted"] is True and entry["data"] is None and entry["checkpoint"] == 4, entry


@case
async def ws_entries_are_compact_and_earlier_entries_still_read(store):
    """A synced todo's entry repeats nothing (localStorage holds ~5 M characters), and the longer
    entries and JSON change pointers of earlier versions still read."""
    storage = DictStorage()
    local = WebStorageStore(storage, app="c")
    T = Todo.using(local).as_user("u1")
    todo = await T.create(title="compact")
    [sent] = await local.feed("todos", 0, 10)
    await local.mark_synced("todos", [sent])
    entry = json.loads(storage.getItem(f"offsync:c:todos:doc:{todo.id}"))
    assert set(entry) == {"rev", "checkpoint", "type", "data", "synced"}, entry
    [doc] = await local.feed("todos", 0, 10)
    assert (doc.owner, doc.base_rev, doc.base_data, doc.history) == ("u1", doc.rev, doc.data, ())
    assert "id" not in entry["data"] and doc.data == todo.to_dict()
    todo.completed = True
    await todo.save()  # an edit keeps its merge base as the fields that differ
    entry = json.loads(storage.getItem(f"offsync:c:todos:doc:{todo.id}"))
    assert set(entry["base_diff"]) <= {"completed", "updated_at"}, entry
    [edited] = await local.feed("todos", 0, 10)
    assert edited.base_rev == doc.rev and edited.base_data == doc.data
    assert edited.data == todo.to_dict() and edited.history == (doc.rev,)

    old = WebStorageStore(DictStorage(), app="o")
    data = {**todo.to_dict(), "title": "written by an earlier version"}
    old.storage.setItem("offsync:o:todos:doc:x1", json.dumps({
        "rev": "2-" + "a" * 32, "checkpoint": 1, "type": "update", "history": ["1-" + "b" * 32],
        "deleted": False, "data": {**data, "id": "x1"}, "owner": "u1", "base_rev": "2-" + "a" * 32,
    }))
    old.storage.setItem("offsync:o:chg:1", json.dumps({"model": "todos", "id": "x1"}))
    old.storage.setItem("offsync:o:seq", "1")
    [doc] = await old.feed("todos", 0, 10)
    assert doc.id == "x1" and doc.owner == "u1" and doc.history == ("1-" + "b" * 32,)
    assert doc.base_rev == doc.rev and doc.base_data == doc.data and not doc.deleted
    found = await Todo.using(old).find()
    assert [t.title for t in found] == ["written by an earlier version"]


@case
async def ws_writes_never_scan(store):
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
    assert all(key.startswith("offsync:app:") for key in gets), f"read foreign keys: {gets}"


@case
async def ws_other_apps_and_foreign_keys_untouched(store):
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


@case
async def ws_reopened_store_sees_everything(store):
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


@case
async def ws_quota_exceeded_leaves_storage_identical(store):
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


@case
async def ws_failure_at_every_step_rolls_back(store):
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


@case
async def ws_save_goes_ahead_when_the_journal_does_not_fit(store):
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


@case
async def ws_other_storage_errors_roll_back_and_propagate(store):
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


@case
async def ws_delete_works_when_storage_is_full(store):
    storage = DictStorage()
    T = Todo.using(WebStorageStore(storage))
    todos = [await T.create(title=f"todo number {i}") for i in range(3)]
    storage.quota = used_chars(storage)  # full to the last character
    await raises(StorageFullError, T.create(title="one more"))
    await todos[0].delete()  # a tombstone is smaller than the document: deleting frees room
    assert await T.count() == 2, "deleting must work when storage is full, to make room"
    assert used_chars(storage) <= storage.quota


@case
async def ws_corrupt_entry_skipped_by_find(store):
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


@case
async def ws_corrupt_entry_get_and_write_raise(store):
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


@case
async def ws_corrupt_change_pointer_skipped(store):
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


async def _crash_world(storage, app: str):
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


async def _unsynced(store) -> dict[str, str]:
    return {d.id: d.rev for d in await store.feed("todos", 0, 10**6) if d.base_rev != d.rev}


CRASH_OPS = {
    "create": lambda T, local, remote, cp: T.create(id="f", title="new", order=6),
    "edit a synced todo": lambda T, local, remote, cp: _edit(T, "a", title="a edited"),
    "edit an unsynced edit": lambda T, local, remote, cp: _edit(T, "b", title="b again"),
    "delete": lambda T, local, remote, cp: _delete(T, "d"),
    "pull a page": lambda T, local, remote, cp: replicate(remote, local, cp["pull"],
                                                          models=[Todo], prune_unseen=True),
}


async def _edit(T, id: str, **changes) -> None:
    await (await T.find_by_id(id)).update(**changes)


async def _delete(T, id: str) -> None:
    await (await T.find_by_id(id)).delete()


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
        local, remote, T, cp = await _crash_world(storage, app)
        prefix = local.prefix
        before, unsynced_before = app_state(storage, prefix), await _unsynced(local)
        await op(T, local, remote, cp)
        after, unsynced_after = app_state(storage, prefix), await _unsynced(local)
        assert before != after, f"{name}: the save changed nothing"
        for k in range(50):
            storage = shared if shared is not None else DictStorage()
            app = f"crash-{len(name)}-{name[:4]}-{k}"
            local, remote, T, cp = await _crash_world(storage, app)
            local.storage.budget = k
            try:
                await op(T, local, remote, cp)
            except TabClosed:
                died = True
            else:
                died = False
            reopened = WebStorageStore(storage, app=app)
            got = app_state(storage, prefix.replace("-clean:", f"-{k}:"))
            where = f"{name}, tab closed after {k} writes"
            half = {key: got.get(key) for key in set(got) | set(before)
                    if got.get(key) != before.get(key)}
            assert got in (before, after), f"{where}: half a save survived: {half}"
            assert not reopened.corrupt_keys, f"{where}: {reopened.corrupt_keys}"
            unsynced = await _unsynced(reopened)
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


@case
async def ws_damaged_seq_recovered_without_reusing_checkpoints(store):
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


# ---- replication (the store under test plays one side; peers are built in the case) -----------

PEER_KINDS = ("memory", "webstorage")


def make_peer(kind: str = "memory"):
    return MemoryStore() if kind == "memory" else WebStorageStore(DictStorage())


def todos_on(store, clock: FakeClock | None = None):
    """`Todo` bound to `store`, with a hand-moved clock so revisions never depend on timing."""
    T = Todo.using(store)
    T.clock = clock or FakeClock()
    return T


async def state(store, model: str = "todos") -> dict[str, tuple]:
    """Every document and tombstone: {id: (rev, deleted, data)}."""
    return {d.id: (d.rev, d.deleted, d.data) for d in await store.feed(model, 0, 10**9)}


async def live(store, model: str = "todos") -> dict[str, tuple]:
    return {id: (rev, data) for id, (rev, deleted, data) in (await state(store, model)).items()
            if not deleted}


async def replicate_todos(source, target, since=None, **kw):
    return await replicate(source, target, since, models=[Todo], **kw)


async def assert_converged(a, b, what: str = "") -> None:
    sa, sb = await live(a), await live(b)
    assert sa == sb, f"{what}: stores differ:\n{sa}\n{sb}"
    for side, st in (("a", a), ("b", b)):
        left = await st.conflicts("todos")
        assert not left, f"{what}: conflicts left on {side}: {left}"


async def seed_todos(store, n: int, clock: FakeClock | None = None, prefix: str = "t") -> list:
    T = todos_on(store, clock)
    return [await T.create(id=f"{prefix}{i}", title=f"todo {i}", order=i) for i in range(n)]


async def conflicting_pair(store, other, *, store_change, other_change):
    """One todo known to both stores, then changed on each side: returns (store obj, other obj).

    `*_change` is ("title", value), ("toggle", None) or ("delete", None).
    """
    clock = FakeClock()
    S, Peer = todos_on(store, clock), todos_on(other, clock)
    await S.create(id="x", title="base", order=1)
    await replicate_todos(store, other)
    await replicate_todos(other, store)  # both know each other holds the base
    clock.tick()
    mine, theirs = await S.find_by_id("x"), await Peer.find_by_id("x")
    for obj, (kind, value) in ((mine, store_change), (theirs, other_change)):
        if kind == "title":
            await obj.update(title=value)
        elif kind == "toggle":
            await obj.update(completed=not obj.completed)
        else:
            await obj.delete()
    return mine, theirs


@case
async def repl_into_empty_target_copies_everything(store):
    T = todos_on(store)
    made = await seed_todos(store, 5)
    await made[1].update(title="changed")
    await made[2].delete()
    for kind in PEER_KINDS:
        target = make_peer(kind)
        result = await replicate_todos(store, target)
        assert result.conflicts == [] and result.rejected == [], f"{kind}: {result}"
        assert result.count("applied") == 5, f"{kind}: counts {result.counts}"
        assert result.checkpoint == await store.checkpoint(), "checkpoint must be the source's"
        assert await state(target) == await state(store), f"{kind}: target differs from source"
        tomb = await target.get_any("todos", made[2].id)
        assert tomb is not None and tomb.deleted, f"{kind}: the tombstone did not replicate"
    # and the other way round: the store under test as an empty target
    source = make_peer()
    await seed_todos(source, 3, prefix="s")
    result = await replicate_todos(source, store)
    assert result.count("applied") == 3, result.counts
    for id, value in (await state(source)).items():
        assert (await state(store))[id] == value, f"{id} differs after replicating into the store"
    assert await T.count() == 3 + 4


@case
async def repl_twice_in_a_row_applies_nothing(store):
    await seed_todos(store, 4)
    target = make_peer()
    first = await replicate_todos(store, target)
    before = await state(target)
    cp_target = await target.checkpoint()
    second = await replicate_todos(store, target, first.checkpoint)
    assert second.counts == {} and second.conflicts == [], f"second run did {second.counts}"
    assert second.checkpoint == first.checkpoint
    again = await replicate_todos(store, target)  # from the start: everything is known
    assert again.conflicts == [] and set(again.counts) == {"unchanged"}, again.counts
    assert await state(target) == before and await target.checkpoint() == cp_target


@case
async def repl_back_what_was_pulled_is_no_conflict(store):
    source = make_peer()
    await seed_todos(source, 3)
    obj = await todos_on(source).find_by_id("t1")
    await obj.delete()
    pulled = await replicate_todos(source, store)
    back = await replicate_todos(store, source)
    assert back.conflicts == [] and set(back.counts) <= {"unchanged"}, back.counts
    assert await store.conflicts("todos") == [] and await source.conflicts("todos") == []
    await assert_converged(store, source, "after pulling and pushing back")
    assert pulled.count("applied") == 3


@case
async def repl_apply_same_batch_twice_is_idempotent(store):
    source = make_peer()
    await seed_todos(source, 4)
    obj = await todos_on(source).find_by_id("t0")
    await obj.delete()
    docs = await source.feed("todos", 0)
    first = await store.apply("todos", docs, merge=Todo.merge)
    assert [o.status for o in first] == ["applied"] * 4, [o.status for o in first]
    cp, before = await store.checkpoint(), await state(store)
    second = await store.apply("todos", docs, merge=Todo.merge)
    assert [o.status for o in second] == ["unchanged"] * 4, [o.status for o in second]
    assert await store.checkpoint() == cp, "re-applying known revisions moved the checkpoint"
    assert await state(store) == before


class ThirdDocFails(Exception):
    pass


@case
async def repl_apply_batch_is_atomic_when_check_raises(store):
    clock = FakeClock()
    await seed_todos(store, 2, clock)
    source = make_peer()
    await replicate_todos(store, source)
    S, Peer = todos_on(store, clock), todos_on(source, clock)
    clock.tick()
    await (await Peer.find_by_id("t0")).update(title="fast-forward")
    await (await Peer.find_by_id("t1")).update(title="theirs")
    await (await S.find_by_id("t1")).update(title="mine")  # t1 will conflict
    await Peer.create(id="new1", title="new one", order=5)
    await Peer.create(id="new2", title="new two", order=6)
    docs = await source.feed("todos", 0)
    assert len(docs) == 4
    before, cp = await state(store), await store.checkpoint()
    seen = []

    def check(doc, current=None):
        seen.append(doc.id)
        if len(seen) == 3:
            raise ThirdDocFails(doc.id)
        return None

    await raises(ThirdDocFails, store.apply("todos", docs, merge=Todo.merge, check=check))
    assert await state(store) == before, "a failed batch left part of its writes"
    assert await store.checkpoint() == cp, "a failed batch moved the checkpoint"
    assert await store.conflicts("todos") == [], "a failed batch left a conflict record"
    ok = await store.apply("todos", docs, merge=Todo.merge)
    assert sorted(o.status for o in ok) == ["applied", "applied", "applied", "conflict"]


@case
async def ws_repl_apply_atomic_when_quota_runs_out(store):
    source = make_peer()
    await seed_todos(source, 6)
    storage = DictStorage()
    ws = WebStorageStore(storage)
    await seed_todos(ws, 1)
    docs = await source.feed("todos", 0)
    before = snapshot(storage)
    storage.quota = used_chars(storage) + 700  # room for two or three documents, not six
    await raises(StorageFullError, ws.apply("todos", docs, merge=Todo.merge))
    assert snapshot(storage) == before, "a batch refused by the quota left traces"
    storage.quota = None
    outcomes = await ws.apply("todos", docs, merge=Todo.merge)
    assert [o.status for o in outcomes] == ["unchanged"] + ["applied"] * 5 or \
        [o.status for o in outcomes] == ["applied"] * 6, [o.status for o in outcomes]


@case
async def repl_different_fields_merge_without_conflict(store):
    for kind in PEER_KINDS:
        other = make_peer(kind)
        mine, theirs = await conflicting_pair(store, other, store_change=("title", "new title"),
                                              other_change=("toggle", None))
        result = await replicate_todos(other, store)
        assert result.conflicts == [] and result.count("merged") == 1, f"{kind}: {result.counts}"
        merged = await store.get("todos", "x")
        assert merged.data["title"] == "new title" and merged.data["completed"] is True, merged
        back = await replicate_todos(store, other)
        assert back.conflicts == [], f"{kind}: pushing the merge back conflicted"
        await assert_converged(store, other, kind)
        again = await replicate_todos(other, store)
        assert again.conflicts == [] and set(again.counts) <= {"unchanged"}, again.counts
        await store.write("todos", "x", None, base_rev=merged.rev)  # reset for the next peer
        await store.purge_tombstones("todos", await store.checkpoint())


async def _same_field_conflict(store, other):
    await conflicting_pair(store, other, store_change=("title", "mine"),
                           other_change=("title", "theirs"))
    before = await store.get("todos", "x")
    result = await replicate_todos(other, store)
    return before, result


@case
async def repl_same_field_conflict_keeps_both_versions(store):
    other = make_peer()
    before, result = await _same_field_conflict(store, other)
    assert len(result.conflicts) == 1, f"expected one conflict: {result}"
    conflict = result.conflicts[0]
    assert conflict.type() == "update" and conflict.id == "x"
    after = await store.get("todos", "x")
    assert after.rev == before.rev and after.data == before.data, "the conflict overwrote mine"
    theirs = await other.get("todos", "x")
    assert theirs.data["title"] == "theirs", "the source was changed by replicating from it"
    src_model, tgt_model = conflict.models()
    assert (src_model.title, tgt_model.title) == ("theirs", "mine")
    src_change, tgt_change = conflict.changes()
    assert (src_change.rev, tgt_change.rev) == (theirs.rev, after.rev)
    recorded = await store.conflicts("todos")
    assert [(m.rev, t.rev) for m, t in recorded] == [(after.rev, theirs.rev)], recorded
    (stored,) = await stored_conflicts(store, Todo)
    assert stored.source_doc.rev == theirs.rev and stored.target_doc.rev == after.rev
    assert stored.models()[0].title == "theirs"
    again = await replicate_todos(other, store, result.checkpoint)
    assert again.counts == {}, "a recorded conflict was replicated again"


@case
async def repl_edit_against_delete_is_a_delete_conflict(store):
    for mine, theirs in ((("delete", None), ("title", "edited")),
                         (("title", "edited"), ("delete", None))):
        other = make_peer()
        target = make_peer()
        await replicate_todos(store, target)  # a copy to restore from
        await conflicting_pair(store, other, store_change=mine, other_change=theirs)
        before = await store.get_any("todos", "x")
        result = await replicate_todos(other, store)
        assert len(result.conflicts) == 1, f"{mine} vs {theirs}: {result.counts}"
        assert result.conflicts[0].type() == "delete"
        after = await store.get_any("todos", "x")
        assert after == before, f"{mine} vs {theirs}: the target changed"
        (stored,) = await stored_conflicts(store, Todo)
        assert stored.type() == "delete"
        outcome = await stored.resolve_using_target()
        assert outcome.status == "applied", outcome
        await replicate_todos(store, other)
        await replicate_todos(other, store)
        await assert_converged(store, other, f"{mine} vs {theirs}")
        assert (await store.get_any("todos", "x")).deleted == before.deleted


async def _resolve_and_converge(store, how: str) -> dict | None:
    other = make_peer()
    _, result = await _same_field_conflict(store, other)
    (conflict,) = result.conflicts
    if how == "source":
        outcome = await conflict.resolve_using_source()
    elif how == "target":
        outcome = await conflict.resolve_using_target()
    else:
        outcome = await conflict.resolve_manually({"title": "both", "completed": True,
                                                   "order": 1})
    assert outcome.status == "applied", f"{how}: {outcome}"
    assert await store.conflicts("todos") == [], f"{how}: resolving left the conflict"
    push = await replicate_todos(store, other)
    pull = await replicate_todos(other, store)
    assert push.conflicts == [] and pull.conflicts == [], f"{how}: resolution conflicted again"
    await assert_converged(store, other, how)
    return (await store.get("todos", "x")).data


@case
async def repl_resolve_using_source_converges(store):
    data = await _resolve_and_converge(store, "source")
    assert data["title"] == "theirs", data


@case
async def repl_resolve_using_target_converges(store):
    data = await _resolve_and_converge(store, "target")
    assert data["title"] == "mine", data


@case
async def repl_resolve_manually_converges(store):
    data = await _resolve_and_converge(store, "manual")
    assert data["title"] == "both" and data["completed"] is True, data


@case
async def repl_resolve_manually_validates(store):
    other = make_peer()
    before, result = await _same_field_conflict(store, other)
    (conflict,) = result.conflicts
    await raises(ValidationError, conflict.resolve_manually({"title": "   "}))
    assert (await store.get("todos", "x")) == before, "a rejected resolution wrote"
    assert len(await store.conflicts("todos")) == 1


@case
async def repl_stored_conflict_resolved_after_reload(store):
    other = make_peer()
    await _same_field_conflict(store, other)
    (conflict,) = await stored_conflicts(store, Todo)
    raises_sync(ValueError, conflict.swap_parties)  # loaded from one store: no other side
    await conflict.resolve_using_source()
    await replicate_todos(store, other)
    await replicate_todos(other, store)
    await assert_converged(store, other, "stored conflict")
    assert (await store.get("todos", "x")).data["title"] == "theirs"


@case
async def repl_swap_parties(store):
    other = make_peer()
    _, result = await _same_field_conflict(store, other)
    (conflict,) = result.conflicts
    swapped = conflict.swap_parties()
    assert swapped.source_doc.rev == conflict.target_doc.rev
    assert swapped.target_doc.rev == conflict.source_doc.rev
    assert swapped.target is other and swapped.source is store
    assert swapped.swap_parties().source_doc.rev == conflict.source_doc.rev
    # settle it on the other side: the other store keeps its own version
    await swapped.resolve_using_target()
    await replicate_todos(other, store)
    await replicate_todos(store, other)
    await assert_converged(store, other, "swap_parties")
    assert (await store.get("todos", "x")).data["title"] == "theirs"


@case
async def repl_sides_that_agree_merge_without_a_kept_base(store):
    """When no side kept the newest common ancestor's body, two sides that agree on every field
    but the save stamps still merge (the result cannot depend on the base); sides that differ
    are a conflict."""
    from models.reconcile import reconcile

    root = next_revision(None, {"id": "x"})

    def side(title: str, stamp: str) -> Document:
        data = {"id": "x", "title": title, "completed": False, "order": 1,
                "created_at": "2024-01-01T00:00:00.000Z", "updated_at": stamp, "owner": None}
        return Document("todos", "x", next_revision(root, data), 0, False, data,
                        history=(root,))

    mine = side("same", "2024-01-01T00:00:01.000Z")
    theirs = side("same", "2024-01-01T00:00:02.000Z")
    decision = reconcile(mine, theirs, Todo.merge)
    assert decision.status == "merged", decision
    assert decision.doc.data["updated_at"] == "2024-01-01T00:00:02.000Z", decision.doc.data
    assert decision.doc.knows(mine.rev) and decision.doc.knows(theirs.rev)
    other = side("different", "2024-01-01T00:00:03.000Z")
    assert reconcile(mine, other, Todo.merge).status == "conflict"
    assert [o.status for o in await store.apply("todos", [mine])] == ["applied"]
    (outcome,) = await store.apply("todos", [theirs], merge=Todo.merge)
    assert outcome.status == "merged", outcome
    assert outcome.current.data["title"] == "same" and await store.conflicts("todos") == []


@case
async def repl_write_during_replication_not_lost(store):
    clock = FakeClock()
    await seed_todos(store, 6, clock)
    target = make_peer()
    S = todos_on(store, clock)
    calls = []

    async def on_progress(done, total):
        calls.append((done, total))
        if done == 2:
            clock.tick()
            await (await S.find_by_id("t0")).update(title="edited mid-way")  # already sent
            await (await S.find_by_id("t5")).update(completed=True)  # not sent yet
            await S.create(id="late", title="created mid-way", order=9)

    first = await replicate_todos(store, target, batch_size=1, on_progress=on_progress)
    assert first.conflicts == [], f"a mid-replication write was reported as a conflict: {first}"
    assert len(calls) > 2, calls
    second = await replicate_todos(store, target, first.checkpoint)
    assert second.conflicts == [], second
    await assert_converged(store, target, "after the next replication")
    assert (await target.get("todos", "t0")).data["title"] == "edited mid-way"
    assert (await target.get("todos", "t5")).data["completed"] is True
    assert (await target.get("todos", "late")) is not None
    third = await replicate_todos(store, target, second.checkpoint)
    assert third.counts == {}, third.counts


@case
async def repl_deletes_replicate_as_tombstones(store):
    made = await seed_todos(store, 3)
    target = make_peer()
    first = await replicate_todos(store, target)
    await made[0].delete()
    result = await replicate_todos(store, target, first.checkpoint)
    assert result.counts == {"applied": 1}, result.counts
    tomb = await target.get_any("todos", "t0")
    mine = await store.get_any("todos", "t0")
    assert tomb.deleted and tomb.rev == mine.rev, f"target has {tomb}, source {mine}"
    assert await todos_on(target).find_by_id("t0") is None
    assert sorted(ids(await todos_on(target).find())) == ["t1", "t2"]
    (change,) = await target.changes("todos", await target.checkpoint() - 1)
    assert change.type == ChangeType.DELETE


async def _purge_then_resync(store, *, write_after_purge: bool, batch_size: int = 500):
    clock = FakeClock()
    made = await seed_todos(store, 4, clock)
    target = make_peer()
    old = await replicate_todos(store, target)
    T = todos_on(target, clock)
    await T.create(id="local-only", title="never synced", order=9)
    clock.tick()
    await (await T.find_by_id("t3")).update(title="edited on the target")
    await made[0].delete()
    await made[1].delete()
    await store.purge_tombstones("todos", await store.checkpoint())
    assert await store.get_any("todos", "t0") is None, "the tombstone was not purged"
    await raises(CheckpointExpiredError, store.feed("todos", old.checkpoint))
    if write_after_purge:
        await todos_on(store, clock).create(id="after", title="after the purge", order=5)
    result = await replicate_todos(store, target, old.checkpoint, batch_size=batch_size,
                                   prune_unseen=True)
    assert result.resynced, "an expired checkpoint must lead to a full resync"
    for id in ("t0", "t1"):
        doc = await target.get_any("todos", id)
        assert doc is not None and doc.deleted, f"{id} was deleted and purged on the source, " \
            f"but the target kept {doc}"
    assert await T.find_by_id("local-only") is not None, "a never-synced local todo was dropped"
    assert (await T.find_by_id("t3")).title == "edited on the target", "a local edit was lost"
    assert (await T.find_by_id("t2")) is not None
    if write_after_purge:
        assert (await T.find_by_id("after")) is not None
    again = await replicate_todos(store, target, result.checkpoint)
    assert not again.resynced and again.counts == {}, again


@case
async def repl_purged_tombstones_force_full_resync(store):
    await _purge_then_resync(store, write_after_purge=True)


@case
async def repl_full_resync_pages_below_the_horizon(store):
    """The full pass reads pages whose checkpoints are below the horizon: it must not stop there
    (here the newest surviving change is older than the purge horizon)."""
    await _purge_then_resync(store, write_after_purge=False)


@case
async def repl_full_resync_in_small_pages(store):
    await _purge_then_resync(store, write_after_purge=True, batch_size=1)


@case
async def repl_checkpoint_newer_than_horizon_is_incremental(store):
    made = await seed_todos(store, 4)
    await made[0].delete()
    horizon = await store.checkpoint()
    target = make_peer()
    first = await replicate_todos(store, target)
    await store.purge_tombstones("todos", horizon)
    await made[1].update(title="after the purge")
    result = await replicate_todos(store, target, first.checkpoint)
    assert not result.resynced, "a checkpoint at the horizon must not force a resync"
    assert result.counts == {"applied": 1}, result.counts
    assert len(await store.feed("todos", first.checkpoint)) == 1


@case
async def repl_diff_reports_missing_and_conflicts(store):
    clock = FakeClock()
    await seed_todos(store, 3, clock)
    other = make_peer()
    await replicate_todos(store, other)
    Peer, S = todos_on(other, clock), todos_on(store, clock)
    clock.tick()
    await (await Peer.find_by_id("t0")).update(title="one edit ahead")  # missing on store
    await (await Peer.find_by_id("t1")).update(title="theirs")  # conflicts
    await (await S.find_by_id("t1")).update(title="mine")
    await Peer.create(id="new", title="new", order=7)  # missing
    changes = await other.changes("todos")
    diff = await store.diff("todos", changes)
    assert sorted(diff["missing"]) == ["new", "t0"], diff
    assert diff["conflicts"] == ["t1"], diff
    own = await store.diff("todos", await store.changes("todos"))
    assert own == {"missing": [], "conflicts": []}, f"a store differs from itself: {own}"


@case
async def repl_diff_agrees_with_apply_when_several_edits_ahead(store):
    clock = FakeClock()
    await seed_todos(store, 1, clock)
    other = make_peer()
    await replicate_todos(store, other)
    Peer = todos_on(other, clock)
    for title in ("second", "third"):
        clock.tick()
        await (await Peer.find_by_id("t0")).update(title=title)
    diff = await store.diff("todos", await other.changes("todos"))
    (outcome,) = await store.apply("todos", await other.feed("todos"), merge=Todo.merge)
    assert outcome.status == "applied"
    assert diff == {"missing": ["t0"], "conflicts": []}, (
        f"diff says {diff} for a change two revisions ahead, which apply fast-forwards")


@case
async def repl_rejected_documents_skipped_rest_applies(store):
    source = make_peer()
    await seed_todos(source, 2)
    good = await source.get("todos", "t0")
    bad = {
        "empty": {**good.data, "id": "empty", "title": "   "},
        "long": {**good.data, "id": "long", "title": "x" * 501},
        "wrong-id": {**good.data, "id": "not-the-key"},
        "untrimmed": {**good.data, "id": "untrimmed", "title": "  padded  "},
    }
    for id, data in bad.items():
        await source.write("todos", id, data, base_rev=None)  # below the model: no validation
    result = await replicate_todos(source, store)
    assert sorted(r["id"] for r in result.rejected) == sorted(bad), result.rejected
    assert all(r["error"] for r in result.rejected), result.rejected
    assert result.count("applied") == 2, result.counts
    T = todos_on(store)
    assert sorted(ids(await T.find())) == ["t0", "t1"]
    for id in bad:
        assert await store.get_any("todos", id) is None, f"rejected {id} was stored"
    again = await replicate_todos(source, store, result.checkpoint)
    assert again.counts == {}, again.counts


@case
async def repl_many_offline_edits_fast_forward(store):
    clock = FakeClock()
    await seed_todos(store, 1, clock)
    other = make_peer()
    await replicate_todos(store, other)
    Peer = todos_on(other, clock)
    for i in range(25):  # a long offline session on one todo
        clock.tick()
        await (await Peer.find_by_id("t0")).update(title=f"edit {i}")
    result = await replicate_todos(other, store)
    assert result.conflicts == [], (
        "25 offline edits of one todo made a false conflict (the history is cut at 20 "
        "revisions and the target's revision falls off it)")
    assert (await store.get("todos", "t0")).data["title"] == "edit 24"


@case
async def repl_sync_two_clients_through_a_remote_converges(store):
    clock = FakeClock()
    remote, other = make_peer(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="a1", title="from a", order=1)
    await B.create(id="b1", title="from b", order=2)
    cps_a = (await sync(store, remote)).checkpoints
    cps_b = (await sync(other, remote)).checkpoints
    cps_a = (await sync(store, remote, cps_a)).checkpoints
    await assert_converged(store, other, "after one round")
    clock.tick()
    await (await A.find_by_id("b1")).update(title="a edits b's")
    await (await B.find_by_id("b1")).update(completed=True)
    await (await B.find_by_id("a1")).delete()
    first = await sync(store, remote, cps_a)
    b = await sync(other, remote, cps_b)
    a = await sync(store, remote, first.checkpoints)
    assert first.conflicts == b.conflicts == a.conflicts == [], "no conflicting edits here"
    await sync(other, remote, b.checkpoints)
    await assert_converged(store, other, "clients")
    await assert_converged(store, remote, "client and remote")
    assert (await A.find_by_id("b1")).title == "a edits b's"
    assert (await A.find_by_id("b1")).completed is True
    assert await A.find_by_id("a1") is None


@case
async def repl_sync_conflict_recorded_locally_then_resolved(store):
    clock = FakeClock()
    remote, other = make_peer(), make_peer()
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="x", title="base", order=1)
    cps_a = (await sync(store, remote)).checkpoints
    cps_b = (await sync(other, remote)).checkpoints
    clock.tick()
    await (await A.find_by_id("x")).update(title="from a")
    await (await B.find_by_id("x")).update(title="from b")
    cps_b = (await sync(other, remote, cps_b)).checkpoints
    result = await sync(store, remote, cps_a)
    assert len(result.conflicts) == 1, result
    (stored,) = await stored_conflicts(store, Todo)
    assert stored.models()[0].title == "from b" and stored.models()[1].title == "from a"
    await stored.resolve_manually({"title": "from a and b", "order": 1})
    cps_a = (await sync(store, remote, result.checkpoints)).checkpoints
    await sync(other, remote, cps_b)
    for st in (store, remote, other):
        assert await st.conflicts("todos") == [], f"conflict left on {st}"
        assert (await st.get("todos", "x")).data["title"] == "from a and b"
    await assert_converged(store, other)
    await assert_converged(store, remote)


# ---- hostile values (the same rules the server applies; tests/test_hostile_input.py) ----------

@case
async def hostile_values_no_store_can_hold_are_refused(store):
    """Lone surrogates, integers past 64 bits, infinities, dates past year 9999 in UTC and ids
    with a trailing newline are refused by the model, whatever the store; nothing is written."""
    T = Todo.using(store).as_user("u1")
    for values in ({"title": "a\ud800"}, {"title": "ok", "order": 2**63},
                   {"title": "ok", "order": float("inf")},
                   {"title": "ok", "created_at": "9999-12-31T23:59:59-14:00"},
                   {"title": "ok", "id": "abc\n"}):
        error = await raises(ValidationError, T.create(**values))
        json.dumps(error.to_dict(), ensure_ascii=True)  # still reportable
    assert await T.count() == 0, "a refused value was written"
    made = await T.create(title="smile \U0001f600", order=2**63 - 1,
                          created_at="0001-01-01T00:00:00Z")
    assert made.created_at == "0001-01-01T00:00:00.000Z", made.created_at


@case
async def hostile_query_shapes_past_the_limits_are_refused(store):
    """and/or nested past 16, more than 32 order terms, a skip past 2^63-1 and a lone surrogate
    in a filter value are FilterErrors before any store runs them; at the limit, queries run."""
    Items = await seed_items(store)
    where: dict = {"name": "apple"}
    for _ in range(16):
        where = {"and": [where]}
    assert ids(await Items.find(where=where)) == ["a"]
    for bad in ({"where": {"or": [where]}}, {"order": ["name ASC"] * 33}, {"skip": 2**63},
                {"where": {"name": "\udfff"}}, {"where": {"rank": {"gt": 10**19}}}):
        await raises(FilterError, Items.find(**bad))


# ---- sync under faults: a lost answer never turns a mergeable edit into a conflict -----------

class LosingAnswers(MemoryStore):
    """A server whose answers can be lost after it did the work: the request is applied (or the
    page read), then the caller gets a `TransportError`, as with a dropped connection or a server
    killed between its commit and its reply. `lose_apply_at = n` loses the answer of the n-th
    `apply` from now, `lose_feed_at` the n-th page read (`feed` with a limit)."""

    def __init__(self, fail_every: int | None = None) -> None:
        super().__init__()
        self.lose_apply_at: int | None = None
        self.lose_feed_at: int | None = None
        self.fail_every = fail_every  # or lose every n-th page answer (reads and applies)
        self.pages = 0
        self.lost = 0
        self.served = 0  # docs in page answers, lost ones included
        self.received = 0  # docs in applied batches, lost answers included

    def _lose(self, attr: str) -> bool:
        self.pages += 1
        if self.fail_every is not None and self.pages % self.fail_every == 0:
            self.lost += 1
            return True
        left = getattr(self, attr)
        if left is None:
            return False
        setattr(self, attr, None if left <= 1 else left - 1)
        if left <= 1:
            self.lost += 1
        return left <= 1

    async def apply(self, model, docs, **kw):
        outcomes = await super().apply(model, docs, **kw)
        self.received += len(docs)
        if self._lose("lose_apply_at"):
            raise TransportError("the answer to sync/apply was lost (the server applied it)")
        return outcomes

    async def feed(self, model, since=0, limit=1000, **kw):
        docs = await super().feed(model, since, limit, **kw)
        if limit > 0:
            self.served += len(docs)
            if self._lose("lose_feed_at"):
                raise TransportError("the answer to sync/changes was lost")
        return docs


async def try_sync(local, remote, models=(Todo,), **kw):
    """One sync that may fail on a lost answer: the result, or None after a TransportError."""
    try:
        return await sync(local, remote, models=list(models), **kw)
    except TransportError:
        return None


async def settle_and_check(store, other, remote, expected: dict, what: str) -> None:
    """Sync both clients until nothing moves; no conflict anywhere, both hold `expected`."""
    for _ in range(3):
        for local in (store, other):
            result = await sync(local, remote, models=[Todo])
            assert result.conflicts == [], f"{what}: a false conflict {result.conflicts}"
    for st, name in ((store, "client 1"), (other, "device 2"), (remote, "server")):
        assert await st.conflicts("todos") == [], f"{what}: conflict recorded on {name}"
        for id, fields in expected.items():
            data = (await st.get("todos", id)).data
            got = {k: data[k] for k in fields}
            assert got == fields, f"{what}: {name} holds {got} for {id}, expected {fields}"
    await assert_converged(store, other, what)
    await assert_converged(store, remote, what)


async def _two_devices(store, clock, n: int = 1):
    """Client 1 (the store under test) and device 2, both synced with one server on `n` todos."""
    remote, other = LosingAnswers(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    for i in range(n):
        await A.create(id=f"x{i}", title=f"base {i}", order=i)
    await sync(store, remote, models=[Todo])
    await sync(other, remote, models=[Todo])
    clock.tick()
    return remote, other, A, B


async def _edit(T, id: str, **fields) -> None:
    await (await T.find_by_id(id)).update(**fields)


@case
async def fault_lost_push_answer_then_other_field_merges(store):
    """The reported case: client 1 retitles and pushes, the server applies it but the answer is
    lost; device 2 sets `completed` and syncs; client 1 retitles again and syncs: a merge."""
    for device_pulled_first in (False, True):
        clock = FakeClock()
        remote, other, A, B = await _two_devices(store, clock)
        await _edit(A, "x0", title="first")
        remote.lose_apply_at = 1
        assert await try_sync(store, remote) is None and remote.lost == 1
        assert (await remote.get("todos", "x0")).data["title"] == "first", "not applied"
        if device_pulled_first:
            await sync(other, remote, models=[Todo])
        await _edit(B, "x0", completed=True)
        assert (await sync(other, remote, models=[Todo])).conflicts == []
        await _edit(A, "x0", title="second")
        result = await sync(store, remote, models=[Todo])
        assert result.conflicts == [], (
            f"pulled first={device_pulled_first}: edits of different fields conflicted after a "
            f"lost push answer: {result.conflicts}")
        await settle_and_check(store, other, remote, {"x0": {"title": "second",
                                                             "completed": True}},
                               f"pulled first={device_pulled_first}")
        await store.write("todos", "x0", None, base_rev=(await store.get("todos", "x0")).rev)
        await store.purge_tombstones("todos", await store.checkpoint())


@case
async def fault_other_device_edits_several_times_meanwhile(store):
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await _edit(A, "x0", title="first")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None
    for fields in ({"completed": True}, {"order": 7}, {"completed": False}, {"completed": True}):
        clock.tick()
        await _edit(B, "x0", **fields)
        assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    await _edit(A, "x0", title="second")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await settle_and_check(store, other, remote,
                           {"x0": {"title": "second", "completed": True, "order": 7}},
                           "device 2 edited four times")


@case
async def fault_two_lost_push_answers_in_a_row(store):
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await _edit(A, "x0", title="first")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None
    await _edit(B, "x0", completed=True)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    await _edit(A, "x0", title="second")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None and remote.lost == 2
    await _edit(B, "x0", order=9)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    await _edit(A, "x0", title="third")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await settle_and_check(store, other, remote,
                           {"x0": {"title": "third", "completed": True, "order": 9}},
                           "two lost answers")


@case
async def fault_lost_pull_answer_then_other_field_merges(store):
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await _edit(A, "x0", title="first")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await _edit(B, "x0", completed=True)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    remote.lose_feed_at = 1  # client 1's next pull page never arrives
    assert await try_sync(store, remote) is None and remote.lost == 1
    clock.tick()
    await _edit(A, "x0", title="second")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await settle_and_check(store, other, remote, {"x0": {"title": "second", "completed": True}},
                           "lost pull answer")


@case
async def fault_server_dies_after_committing_one_page_of_several(store):
    """A push in pages of two: the second page is committed but its answer never comes."""
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock, n=6)
    for i in range(6):
        await _edit(A, f"x{i}", title=f"first {i}")
    remote.lose_apply_at = 2
    assert await try_sync(store, remote, batch_size=2) is None
    assert [(await remote.get("todos", f"x{i}")).data["title"] for i in range(6)] == \
        ["first 0", "first 1", "first 2", "first 3", "base 4", "base 5"], "pages 1-2 applied"
    for i in range(6):
        await _edit(B, f"x{i}", completed=True)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    for i in range(6):
        await _edit(A, f"x{i}", title=f"second {i}")
    result = await sync(store, remote, models=[Todo], batch_size=2)
    assert result.conflicts == [], f"false conflicts after a lost page: {result.conflicts}"
    await settle_and_check(store, other, remote,
                           {f"x{i}": {"title": f"second {i}", "completed": True}
                            for i in range(6)}, "lost page")


@case
async def fault_lost_create_answer_then_purged_delete_converges(store):
    """Client 1's create reaches the server but the answer is lost; device 2 deletes the todo,
    and the server purges the tombstone. Client 1's retry brings the todo back to the server (it
    cannot know better); device 2 must then see that the server no longer holds its delete and
    send it again, so every store ends with the todo deleted (found by the convergence test)."""
    clock = FakeClock()
    remote, other = LosingAnswers(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="x", title="made here", order=1)
    await A.create(id="y", title="kept", order=2)
    remote.lose_apply_at = 1
    assert await try_sync(store, remote, peer="server") is None
    await sync(other, remote, models=[Todo], peer="server")
    clock.tick()
    await (await B.find_by_id("x")).delete()
    await sync(other, remote, models=[Todo], peer="server")
    await remote.purge_tombstones("todos", await remote.checkpoint())
    for _ in range(3):
        for local in (store, other):
            await sync(local, remote, models=[Todo], peer="server")
    for st in (store, other, remote):
        assert await st.get("todos", "x") is None, f"the deleted todo lives on in {st}"
        assert await st.get("todos", "y") is not None
    await assert_converged(store, other, "after the purge")
    await assert_converged(store, remote, "after the purge")


@case
async def fault_first_pull_after_a_purge_drops_what_was_deleted_there(store):
    """Client 1's push is acknowledged but its pull never gets through (its pull checkpoint is
    still 0); device 2 deletes a todo and the server purges the tombstone. Reading from 0 is never
    refused, yet client 1 holds the todo as synced: its first pull must be a full pass that drops
    it (found by the convergence test)."""
    clock = FakeClock()
    remote, other = LosingAnswers(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="x", title="deleted elsewhere", order=1)
    await A.create(id="y", title="kept", order=2)
    remote.lose_feed_at = 1
    assert await try_sync(store, remote, peer="server") is None
    assert (await store.get("todos", "x")).base_rev == (await remote.get("todos", "x")).rev
    await sync(other, remote, models=[Todo], peer="server")
    clock.tick()
    await (await B.find_by_id("x")).delete()
    await sync(other, remote, models=[Todo], peer="server")
    await remote.purge_tombstones("todos", await remote.checkpoint())
    await B.create(id="z", title="after the purge", order=3)  # the first page ends past it
    await sync(other, remote, models=[Todo], peer="server")
    result = await sync(store, remote, models=[Todo], peer="server")
    assert result.pull.resynced and result.pull.count("purged") == 1, result.pull.counts
    assert await store.get("todos", "x") is None, "a todo deleted on the server lives on here"
    await assert_converged(store, other, "after the first pull")
    await assert_converged(store, remote, "after the first pull")


@case
async def fault_pulled_echo_becomes_the_merge_base(store):
    """A pull that brings back the revision this store holds proves the server has it: it becomes
    the merge base (bookkeeping only: no new checkpoint, nothing to push)."""
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await _edit(A, "x0", title="first")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None
    sent = await store.get("todos", "x0")
    assert sent.base_rev != sent.rev, "the store cannot know the server took it"
    checkpoint = await store.checkpoint()
    pulled = await replicate_todos(remote, store)
    assert pulled.counts == {"unchanged": 1}, pulled.counts
    echoed = await store.get("todos", "x0")
    assert (echoed.base_rev, echoed.base_data) == (sent.rev, sent.data), echoed
    assert await store.checkpoint() == checkpoint, "an echo is bookkeeping, not a change"


@case
async def ws_unacked_bodies_only_where_a_push_went_unanswered(store):
    """Only a document whose push got no answer keeps the body it sent, as the fields that differ
    (localStorage is nearly full with 10,000 todos); edits never sent keep nothing; an answer, a
    later sync or the bound drops them."""
    from models.document import UNACKED_LIMIT
    from models.protocol import doc_from_wire, doc_to_wire

    storage = DictStorage()
    local, remote = WebStorageStore(storage, app="c"), LosingAnswers()
    clock = FakeClock()
    T = todos_on(local, clock)
    await seed_todos(local, 3, clock)
    await sync(local, remote, models=[Todo], peer="server")

    def entry(id: str) -> dict:
        return json.loads(storage.getItem(f"offsync:c:todos:doc:{id}"))

    clock.tick()
    for title in ("offline 1", "offline 2"):
        await _edit(T, "t0", title=title)
    assert "unacked" not in entry("t0"), "an edit never sent keeps nothing"
    remote.lose_apply_at = 1
    assert await try_sync(local, remote, peer="server") is None
    sent = await local.get("todos", "t0")
    clock.tick()
    await _edit(T, "t0", title="after the lost answer")
    kept = entry("t0")["unacked"]
    assert kept == [[sent.rev, {"title": "offline 2", "updated_at": sent.data["updated_at"]}]], kept
    assert (await local.get("todos", "t0")).unacked == ((sent.rev, sent.data),)
    assert "unacked" not in entry("t1") and "unacked" not in entry("t2")
    await sync(local, remote, models=[Todo], peer="server")
    assert set(entry("t0")) == {"rev", "checkpoint", "data", "history", "synced"}, entry("t0")
    for i in range(UNACKED_LIMIT + 3):  # answers lost again and again: the oldest bodies go
        clock.tick()
        await _edit(T, "t1", title=f"lost {i}")
        remote.lose_apply_at = 1
        assert await try_sync(local, remote, peer="server") is None
    clock.tick()
    await _edit(T, "t1", title="last")
    doc = await local.get("todos", "t1")
    assert len(doc.unacked) == UNACKED_LIMIT, len(doc.unacked)
    assert doc.unacked[-1][1]["title"] == f"lost {UNACKED_LIMIT + 2}", "the newest are kept"
    wire = doc_from_wire("todos", json.loads(json.dumps(doc_to_wire(doc))))
    assert wire.unacked == doc.unacked, "unacked bodies do not survive the wire"
    assert "unacked" not in doc_to_wire(await local.get("todos", "t2"))


# ---- an interrupted sync resumes after its last acknowledged page ------------------------------

async def sync_until_done(local, remote, models=(Todo,), attempts: int = 100, **kw):
    """Sync with `peer`, retrying after every lost answer: (result, interruptions)."""
    for interruptions in range(attempts):
        try:
            return await sync(local, remote, models=list(models), peer="server", **kw), \
                interruptions
        except TransportError:
            continue
    raise AssertionError(f"no sync finished in {attempts} attempts")


@case
async def resume_interrupted_pull_repulls_at_most_a_page_each_time(store):
    remote = LosingAnswers(fail_every=3)
    await seed_todos(remote, 240)
    result, interruptions = await sync_until_done(store, remote, batch_size=20)
    assert interruptions >= 4, f"only {interruptions} interruptions: the case tests nothing"
    assert remote.served <= 240 + 20 * interruptions, (
        f"{remote.served} docs served for 240 after {interruptions} interruptions: a retry "
        "pulled more again than the page that was cut off")
    assert await live(store) == await live(remote)
    remote.fail_every = None
    again = await sync(store, remote, models=[Todo], peer="server")
    assert again.pull.counts == {} and again.push.counts == {}, "a finished sync moved again"


@case
async def resume_interrupted_push_resends_at_most_a_page_each_time(store):
    remote = LosingAnswers(fail_every=3)
    await seed_todos(store, 240)
    result, interruptions = await sync_until_done(store, remote, batch_size=20)
    assert interruptions >= 4, f"only {interruptions} interruptions"
    assert remote.received <= 240 + 20 * interruptions, (
        f"{remote.received} docs pushed for 240 after {interruptions} interruptions")
    assert await live(store) == await live(remote)
    unacked = [d.id for d in await store.feed("todos", 0, 10**9) if d.base_rev != d.rev]
    assert unacked == [], f"pushed but never acknowledged: {unacked[:5]}"


@case
async def resume_never_skips_a_change_made_meanwhile(store):
    """Writes on both sides between interruptions, and two models: every change arrives."""
    remote = LosingAnswers()
    clock = FakeClock()
    await seed_todos(remote, 30, clock)
    for i in range(10):
        await Item.using(remote).create(id=f"i{i}", name=f"item {i}")
    await seed_todos(store, 10, clock, prefix="mine")
    remote.lose_feed_at = 2  # the second page of the first model's pull
    assert await try_sync(store, remote, (Todo, Item), batch_size=8, peer="server") is None
    clock.tick()
    await (await todos_on(remote, clock).find_by_id("t0")).update(title="changed since")
    await todos_on(remote, clock).create(id="late", title="written meanwhile", order=99)
    await (await todos_on(store, clock).find_by_id("mine0")).update(title="mine changed")
    remote.lose_feed_at = 3  # now in the second model's pass
    for _ in range(3):
        done = await try_sync(store, remote, (Todo, Item), batch_size=8, peer="server")
        if done is not None:
            break
    assert done is not None
    for model in ("todos", "items"):
        assert await live(store, model) == await live(remote, model), f"{model} differs"
    assert (await store.get("todos", "t0")).data["title"] == "changed since"
    assert (await remote.get("todos", "mine0")).data["title"] == "mine changed"


@case
async def resume_interrupted_full_resync_starts_again_from_zero(store):
    """A resync after a tombstone purge cut off halfway restarts from 0 (resumed halfway it
    could not tell a purged document from one it has not read yet)."""
    remote = LosingAnswers()
    made = await seed_todos(remote, 12)
    await sync_until_done(store, remote, batch_size=4)
    for todo in made[:3]:
        await todo.delete()
    await seed_todos(remote, 2, prefix="new")
    await remote.purge_tombstones("todos", await remote.checkpoint())
    await todos_on(store).create(id="local", title="only here", order=50)
    remote.lose_feed_at = 2
    assert await try_sync(store, remote, batch_size=4, peer="server") is None
    result, _ = await sync_until_done(store, remote, batch_size=4)
    assert result.pull.resynced and result.pull.count("purged") == 3, result.pull.counts
    assert sorted(id for id in await live(store)) == sorted(await live(remote))
    assert "local" in await live(remote), "the local-only todo was pushed, not pruned"


@case
async def ws_full_storage_never_fails_a_sync_for_its_bookkeeping(store):
    """The `sent` mark and the saved checkpoints are savings: a storage too full to take them
    still pushes (a retry then moves a page again)."""
    for fail_at in (1, 3):  # the `sent` mark; the push's saved checkpoint
        storage = FailingStorage()
        local, remote = WebStorageStore(storage, app="f"), LosingAnswers()
        await seed_todos(local, 1)
        storage.arm(fail_set_at=fail_at)
        result = await sync(local, remote, models=[Todo], peer="server")
        storage.disarm()
        assert result.push.count("applied") == 1, (fail_at, result.push.counts)
        assert await live(remote) == await live(local), fail_at


@case
async def resume_progress_is_kept_per_peer(store):
    """Two servers, two records: one's checkpoints never decide what is read from the other."""
    first, second = LosingAnswers(), LosingAnswers()
    await seed_todos(first, 5, prefix="a")
    await seed_todos(second, 3, prefix="b")
    await sync(store, first, models=[Todo], peer="first")
    await sync(store, second, models=[Todo], peer="second")
    assert sorted(await live(store)) == sorted([*await live(first), *await live(second)])
    assert await store.saved_checkpoint("first:pull:todos") == await first.checkpoint()
    assert await store.saved_checkpoint("second:pull:todos") == await second.checkpoint()


# ---- running ----------------------------------------------------------------------------------

async def run_all(make_store: Callable[[], Any], names=None) -> list[dict]:
    """Run every case (or those in `names`) on a fresh store each; never raises for a failure.

    `make_store` may be sync or async. Returns `[{"name", "ok", "error"}]`, error being the
    formatted traceback of a failure (None when the case passed).
    """
    wanted = None if names is None else set(names)
    results = []
    for fn in CASES:
        if wanted is not None and fn.__name__ not in wanted:
            continue
        error = None
        store = None
        try:
            store = make_store()
            if inspect.isawaitable(store):
                store = await store
            await fn(store)
        except Exception:  # noqa: BLE001 - a runner reports every failure, whatever it is
            error = traceback.format_exc()
        finally:
            close = getattr(store, "close", None)
            if callable(close):
                try:
                    closed = close()
                    if inspect.isawaitable(closed):
                        await closed
                except Exception:  # noqa: BLE001 - same: report, do not stop the run
                    error = error or traceback.format_exc()
        results.append({"name": fn.__name__, "ok": error is None, "error": error})
    return results


__all__ = ["CASES", "FailingStorage", "Item", "RecordingStorage", "case", "raises", "run_all"]
