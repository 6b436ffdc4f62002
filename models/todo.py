"""The demo's business object. Its rules run unchanged on the server and in the browser."""

from __future__ import annotations

import time

from .access import (
    ALL,
    ALLOW,
    AUTHENTICATED,
    DENY,
    EDITOR,
    EVERYONE,
    OWNER,
    READ,
    REPLICATE,
    VIEWER,
    AccessRule,
)
from .fields import Boolean, Date, DateTime, Number, String
from .model import Model, _valid_id
from .todo_list import TodoList, default_list_id


def todo_v1_to_v2(data: dict) -> dict:
    """Version 2 adds the optional due date: a todo written before has none. Tolerant of a body
    that has it already (a version 1 tab may have stored a server's version 2 answer)."""
    data.setdefault("due", None)
    return data


def todo_v2_to_v3(data: dict) -> dict:
    """Version 3 puts every todo in a list: one written before is in its owner's default list,
    whose id follows from the owner's, so every side migrates it alike."""
    if data.get("list_id") is None and isinstance(data.get("owner"), str):
        data["list_id"] = default_list_id(data["owner"])
    data.setdefault("list_id", None)
    return data


class Todo(Model):
    """Version 1: title, completed, order, owner and the two stamps. Version 2 adds `due`,
    version 3 `list_id`."""

    collection = "todos"
    version = 3
    migrations = {1: todo_v1_to_v2, 2: todo_v2_to_v3}
    migration_samples = {
        1: [{"id": "sample", "title": "Buy milk", "completed": False,
             "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
             "order": 1, "owner": "u1"}],
        2: [{"id": "sample", "title": "Buy milk", "completed": False,
             "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z",
             "order": 1, "due": "2026-01-02", "owner": "u1"}],
    }
    owned_by = "list_id"  # a todo belongs to its list: the list's members read (and edit) it
    groups = TodoList

    title = String(required=True, trim=True, min_length=1, max_length=500,
                   description="What to do; trimmed, 1-500 characters")
    completed = Boolean(required=True, default=False)
    created_at = DateTime(auto_now_add=True, read_only=True)
    updated_at = DateTime(auto_now=True, read_only=True)
    order = Number(description="Position in the list; new todos go last")
    due = Date(description="The day it is due (YYYY-MM-DD), or null; since version 2")
    owner = String(read_only=True, description="The user who created it; set on create")
    list_id = String(validators=(_valid_id,), description=(
        "The list it belongs to; the creator's default list when not given; since version 3"))

    # Each todo belongs to the user who created it: only they read and write it; any signed-in
    # user may replicate (the sync endpoints then serve and accept only their own todos).
    OWNER_ONLY = (
        AccessRule(EVERYONE, ALL, DENY),
        AccessRule(AUTHENTICATED, REPLICATE, ALLOW),
        AccessRule(OWNER, ALL, ALLOW),
    )
    # A todo follows its list: the list's owner and editors read and write it, viewers read it,
    # anyone else does not know it exists.
    LIST_MEMBERS = (
        *OWNER_ONLY,
        AccessRule(EDITOR, ALL, ALLOW),
        AccessRule(VIEWER, READ, ALLOW),
    )
    acl = LIST_MEMBERS

    @classmethod
    def adopted(cls, data: dict, owner: str) -> dict:
        """Another server's todo of the user's default list goes to their default list here."""
        before = data.get("owner")
        moved = {**data, "owner": owner}
        if isinstance(before, str) and data.get("list_id") == default_list_id(before):
            moved["list_id"] = default_list_id(owner)
        return moved

    def complete(self, is_new: bool) -> None:
        if self.list_id is None and isinstance(self.owner, str):
            self.list_id = default_list_id(self.owner)

    def before_save(self, is_new: bool) -> None:
        if self.order is None:
            self.order = time.time_ns() // 1_000_000  # creation order, without asking the store
