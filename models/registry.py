"""The models this package serves: what `replicate()` replicates and the server exposes when the
caller names none. A new model is added here."""

from __future__ import annotations

from .model import Model
from .todo import Todo

MODELS: dict[str, type[Model]] = {Todo.collection: Todo}
