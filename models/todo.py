"""The demo's business object. Its rules run unchanged on the server and in the browser."""

from __future__ import annotations

import time

from .access import ALL, ALLOW, EVERYONE, AccessRule
from .fields import Boolean, DateTime, Number, String
from .model import Model


class Todo(Model):
    collection = "todos"

    title = String(required=True, trim=True, min_length=1, max_length=500,
                   description="What to do; trimmed, 1-500 characters")
    completed = Boolean(required=True, default=False)
    created_at = DateTime(auto_now_add=True, read_only=True)
    updated_at = DateTime(auto_now=True, read_only=True)
    order = Number(description="Position in the list; new todos go last")

    # Everyone may do everything until accounts arrive; the rules are evaluated all the same.
    acl = (AccessRule(EVERYONE, ALL, ALLOW),)

    def before_save(self, is_new: bool) -> None:
        if self.order is None:
            self.order = time.time_ns() // 1_000_000  # creation order, without asking the store
