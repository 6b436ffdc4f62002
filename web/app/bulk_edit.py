"""The todo page's changes to many todos at once, "toggle all" and "clear completed": one bulk
write of the model (`Todo.update_many`, `Todo.delete_many`, models/bulk.py), so 10,000 todos
are one store transaction: all saved, or (storage full, a todo changed meanwhile in another tab)
none. Each todo is written from the page's copy (`todo_list.TodoList`), based on the revision
the copy holds. Returns the documents written, for the page's copy. Pure Python: no `js`."""

from __future__ import annotations

from typing import Any


def _objects(Model: Any, docs: list) -> list:
    return [Model.from_dict(doc.data or {}, rev=doc.rev) for doc in docs]


async def toggle_all(Model: Any, todos: Any) -> list:
    """All done, or all active again when every todo is done already."""
    target = todos.left > 0
    docs = [doc for doc in todos.docs.values()
            if bool((doc.data or {}).get("completed")) != target]
    return await Model.update_many(_objects(Model, docs), completed=target) if docs else []


async def clear_completed(Model: Any, todos: Any) -> list:
    docs = [doc for doc in todos.docs.values() if (doc.data or {}).get("completed")]
    return await Model.delete_many(_objects(Model, docs)) if docs else []
