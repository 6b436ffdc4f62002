"""Field validation: trimming, limits, types, unknown fields, defaults and timestamps."""

from __future__ import annotations

from models import Todo, ValidationError

from .helpers import ISO, FakeClock, raises, raises_sync
from .registry import case


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
