"""The models this package serves: what `replicate()` replicates and the server exposes when the
caller names none. A new model is added here."""

from __future__ import annotations

from .model import Model
from .todo import Todo
from .todo_list import TodoList

# Lists before todos: a sync pushes a new list before the todos written into it.
MODELS: dict[str, type[Model]] = {TodoList.collection: TodoList, Todo.collection: Todo}
