"""A list of todos, owned by one user and shared with others, each an editor or a viewer.

A list is the group its todos belong to (`Todo.owned_by = "list_id"`): the roles its body names
are the roles its members hold towards each of its todos, read by `memberships_from` for the
access rules on both sides (models/model_access.py). A list belongs to itself (`owned_by =
"id"`), so a per-owner feed of lists is the same index walk as for todos.

Every user has a default list whose id follows from theirs (`default_list_id`): each device and
the server name it alike without asking anyone, so todos written offline before the list was
ever synced (and every todo of Todo version 2) already belong to it. Its body is fixed
(`default_list_body`) and carries no stamp, so two devices that create it on their own make the
same revision.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from .document import Document
from .fields import Roles, String
from .model import Model

DEFAULT_LIST_PREFIX = "inbox-"
DEFAULT_LIST_NAME = "My todos"
ROLES = {"editor": EDITOR, "viewer": VIEWER}  # a member's role -> its principal in the rules


def default_list_id(user_id: str) -> str:
    """The id of `user_id`'s default list: the same on every device and the server."""
    return DEFAULT_LIST_PREFIX + user_id


def default_list_body(user_id: str) -> dict:
    return {"id": default_list_id(user_id), "name": DEFAULT_LIST_NAME, "owner": user_id,
            "members": {}}


class TodoList(Model):
    """name, owner (who made it: they share, rename, unshare and delete it) and members."""

    collection = "todolists"
    owned_by = "id"

    name = String(required=True, trim=True, min_length=1, max_length=200,
                  description="The list's name; trimmed, 1-200 characters")
    owner = String(read_only=True, description="The user who made it; set on create")
    members = Roles(roles=tuple(ROLES), description=(
        "The users it is shared with, by user id, each 'editor' (reads and writes its todos) "
        "or 'viewer' (reads them)"))

    # The owner does everything; members read the list (and, by Todo's rules, its todos).
    acl = (
        AccessRule(EVERYONE, ALL, DENY),
        AccessRule(AUTHENTICATED, REPLICATE, ALLOW),
        AccessRule(OWNER, ALL, ALLOW),
        AccessRule(EDITOR, READ, ALLOW),
        AccessRule(VIEWER, READ, ALLOW),
    )

    def check(self) -> dict[str, list[str]] | None:
        problems: dict[str, list[str]] = {}
        if self.id and self.id.startswith(DEFAULT_LIST_PREFIX) \
                and self.id != default_list_id(self.owner or ""):
            problems["id"] = [f"is a default list's id: only its user's own "
                              f"({DEFAULT_LIST_PREFIX}<owner>) may be used"]
        if self.owner is not None and self.owner in (self.members or {}):
            problems["members"] = ["must not name the owner: the owner holds every right"]
        return problems

    @classmethod
    def own_role(cls, data: dict, user_id: str) -> str | None:
        """The role a list's body gives `user_id`: $owner, $editor, $viewer or None."""
        if data.get("owner") == user_id:
            return OWNER
        members = data.get("members")
        return ROLES.get(members.get(user_id)) if isinstance(members, dict) else None

    @classmethod
    def is_leaving(cls, stored: dict | None, data: dict | None, user_id: str | None) -> bool:
        """A member (editor or viewer) may write the list only to take themself out of its
        members, every other field as stored: leaving. The owner cannot leave (they delete)."""
        if not stored or not data or not user_id or stored.get("owner") == user_id:
            return False
        members = stored.get("members")
        if not isinstance(members, dict) or user_id not in members:
            return False
        rest = {id: role for id, role in members.items() if id != user_id}
        return data.get("members") == rest and all(
            data.get(name) == stored.get(name) for name in cls.fields if name != "members")

    @classmethod
    def members_of(cls, data: dict) -> set[str]:
        """Everyone the list's body gives a role: its owner and its members."""
        members, owner = data.get("members"), data.get("owner")
        found = set(members) if isinstance(members, dict) else set()
        return found | {owner} if isinstance(owner, str) else found

    @classmethod
    def role_of(cls, doc: Document, user_id: str) -> str | None:
        """The role the stored list `doc` gives `user_id` (None: none, or a list claiming to be
        someone else's default list)."""
        if doc.deleted or (doc.id.startswith(DEFAULT_LIST_PREFIX)
                           and doc.id != default_list_id(user_id)):
            return None
        return cls.own_role(doc.data or {}, user_id)

    @classmethod
    def memberships_from(cls, docs: Iterable[Document], user_id: str | None) -> dict[str, str]:
        """`{list id: role}` for `user_id` over the given lists, their default list included
        (theirs whether or not it was ever stored)."""
        if not user_id:
            return {}
        found = {default_list_id(user_id): OWNER}
        for doc in docs:
            role = cls.role_of(doc, user_id)
            if role is not None:
                found[doc.id] = role
        return found


TodoList.groups = TodoList
