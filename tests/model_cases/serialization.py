"""A model's JSON form, and values that must come back from a store unchanged."""

from __future__ import annotations

import json

from models import Todo, ValidationError

from .helpers import raises_sync
from .registry import case


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
        "id", "title", "completed", "created_at", "updated_at", "order", "owner", "due",
        "list_id",
    }, todo.to_dict()
    assert json.loads(text)["_rev"] == todo._rev
    stored = await T.find_by_id(todo.id)
    assert stored.to_json() == text, "the store changed the document's JSON"


@case(store_independent=True)
async def from_json_rejects_garbage():
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
