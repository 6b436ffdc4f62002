"""The demo's business object. Its rules run unchanged on the server and in the browser."""

from __future__ import annotations

import time

from .access import ALL, ALLOW, AUTHENTICATED, DENY, EVERYONE, OWNER, REPLICATE, AccessRule
from .fields import Boolean, Date, DateTime, Number, String
from .model import Model


def todo_v1_to_v2(data: dict) -> dict:
    """Version 2 adds the optional due date: a todo written before has none. Tolerant of a body
    that has it already (a version 1 tab may have stored a server's version 2 answer)."""
    data.setdefault("due", None)
    return data


class Todo(Model):
    """Version 1: title, completed, order, owner and the two stamps. Version 2 adds `due`."""

    collection = "todos"
    version = 2
    migrations = {1: todo_v1_to_v2}
    migration_samples = {1: [
        {"id": "sample", "title": "Buy milk", "completed": False,
         "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
         "order": 1, "owner": "u1"},
    ]}

    title = String(required=True, trim=True, min_length=1, max_length=500,
                   description="What to do; trimmed, 1-500 characters")
    completed = Boolean(required=True, default=False)
    created_at = DateTime(auto_now_add=True, read_only=True)
    updated_at = DateTime(auto_now=True, read_only=True)
    order = Number(description="Position in the list; new todos go last")
    due = Date(description="The day it is due (YYYY-MM-DD), or null; since version 2")
    owner = String(read_only=True, description="The user who created it; set on create")

    # Each todo belongs to the user who created it: only they read and write it; any signed-in
    # user may replicate (the sync endpoints then serve and accept only their own todos).
    OWNER_ONLY = (
        AccessRule(EVERYONE, ALL, DENY),
        AccessRule(AUTHENTICATED, REPLICATE, ALLOW),
        AccessRule(OWNER, ALL, ALLOW),
    )
    acl = OWNER_ONLY

    def before_save(self, is_new: bool) -> None:
        if self.order is None:
            self.order = time.time_ns() // 1_000_000  # creation order, without asking the store
