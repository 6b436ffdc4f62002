"""The demo's business object. Its rules run unchanged on the server and in the browser."""

from __future__ import annotations

import time

from .access import ALL, ALLOW, AUTHENTICATED, DENY, EVERYONE, OWNER, REPLICATE, AccessRule
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
