"""The access rules half of `Model`: who may read, write and replicate its documents.

The rules themselves are data (`models/access.py`: a model's `acl`); this mixin applies them for
the user a model class is bound to (`Todo.as_user(id)`), the same way in the browser and on the
server. Queries are narrowed to what the user may read, and what they may not read does not
exist for them.

Rules that follow data: a model whose documents belong to groups (a todo to its list) names the
group model in `groups`. Before a check, `resolved()` reads that model's documents from the same
store and asks it for the user's memberships (`{group id: role}`), so the browser, holding the
lists its user may read, and the server, holding all of them, decide alike.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from .access import READ, REPLICATE, AccessRule, is_allowed, read_scope, readable_owners
from .document import Document
from .errors import AccessDeniedError, ValidationError
from .filters import Query
from .memberships import memberships_in
from .ownership import DEFAULT_FIELD


class AccessControlled:
    """Mixed into `Model`, which defines these class attributes."""

    collection: ClassVar[str]
    acl: ClassVar[tuple[AccessRule, ...]]
    fields: ClassVar[dict[str, Any]]
    user_id: ClassVar[str | None]
    enforce_access: ClassVar[bool]
    owned_by: ClassVar[str] = DEFAULT_FIELD
    # The model whose documents give roles towards an owner (None: owners are users only), and
    # this user's memberships once `resolved()` read them.
    groups: ClassVar[Any] = None
    memberships: ClassVar[dict[str, str] | None] = None

    @classmethod
    def can(cls, access: str, *, user_id: str | None = None, owner_id: str | None = None,
            data: dict | None = None) -> bool:
        """Whether `user_id` has `access` to a document owned by `owner_id` (with body `data`,
        when the body itself names roles: a group's own document)."""
        memberships = cls.known_memberships(user_id)
        own = cls.own_role(data, user_id) if data is not None and user_id else None
        if own is not None and owner_id is not None:
            memberships = {**(memberships or {}), owner_id: own}
        return is_allowed(cls.acl, access, user_id=user_id, owner_id=owner_id,
                          memberships=memberships)

    @classmethod
    def known_memberships(cls, user_id: str | None) -> dict[str, str] | None:
        """The memberships `resolved()` read; before it, those that follow from the user's id
        alone (their default list), so an unresolved class still allows what is theirs."""
        if cls.memberships is not None:
            return cls.memberships
        return None if cls.groups is None else cls.groups.memberships_from((), user_id)

    @classmethod
    def own_role(cls, data: dict, user_id: str) -> str | None:
        """The role a document's own body gives `user_id` (a group names its members); None."""
        return None

    @classmethod
    def is_leaving(cls, stored: dict | None, data: dict | None, user_id: str | None) -> bool:
        """Whether writing `data` over `stored` is `user_id` giving up the role the stored body
        gives them, and nothing else: allowed whatever the role (a member leaving a list).
        Models whose bodies name no roles have no such write."""
        return False

    @classmethod
    def check_access(cls, access: str, **who: Any) -> None:
        if not cls.can(access, **who):
            raise cls._denied(access)

    @classmethod
    def _denied(cls, access: str) -> AccessDeniedError:
        return AccessDeniedError(f"{access} on {cls.collection} is not allowed", {"access": access})

    @classmethod
    def _enforce(cls, access: str, owner_id: str | None, data: dict | None = None) -> None:
        if cls.enforce_access:
            cls.check_access(access, user_id=cls.user_id, owner_id=owner_id, data=data)

    @classmethod
    def creator_changed(cls, data: dict | None, stored: dict | None) -> bool:
        """Whether a write by this user would forge who made a document: when its owner is a
        group, its `owner` field names the user who created it, set on create to whoever
        creates it and never changed since (a todo made by an editor stays theirs)."""
        if not cls.enforce_access or cls.owned_by == DEFAULT_FIELD or data is None \
                or DEFAULT_FIELD not in cls.fields:
            return False
        made_by = stored.get(DEFAULT_FIELD) if stored is not None else cls.user_id
        return data.get(DEFAULT_FIELD) != made_by

    @classmethod
    def group_changed(cls, data: dict | None, stored: dict | None) -> bool:
        """Whether a write by this user would move a document out of the group it belongs to
        (a todo into another list). A pull reads by owner, so a reader of the old group who
        may not read the new one would never hear of it again and keep it forever; a move is
        a delete and a create instead. A document whose body names no group yet (written
        before its model had groups) may get one."""
        if not cls.enforce_access or cls.groups is None or cls.owned_by == DEFAULT_FIELD \
                or data is None or stored is None:
            return False
        before = stored.get(cls.owned_by)
        return before is not None and data.get(cls.owned_by) != before

    @classmethod
    def group_change_refused(cls) -> ValidationError:
        return ValidationError(cls.__name__, {cls.owned_by: [  # type: ignore[attr-defined]
            "cannot change once set (to move it elsewhere, delete it and create it there)"]})

    @classmethod
    async def resolved(cls) -> Any:
        """This class with its user's memberships read from its store (itself when the model
        has no groups, enforces nothing, or is resolved already): what every check runs on."""
        if not cls.enforce_access or cls.groups is None or cls.memberships is not None:
            return cls
        memberships = await memberships_in(cls._store(), cls.groups,  # type: ignore
                                           cls.user_id)
        return type(cls.__name__, (cls,), {"memberships": memberships,
                                           "collection": cls.collection,
                                           "__module__": cls.__module__})

    @classmethod
    def read_scope(cls) -> str:
        """`all`, `own` or `none`: what this class's user may read (see access.read_scope)."""
        return read_scope(cls.acl, cls.user_id) if cls.enforce_access else "all"

    @classmethod
    def readable(cls, doc: Document) -> bool:
        """Whether this class's user may read `doc`: what they may not does not exist for them."""
        return not cls.enforce_access or cls.can(READ, user_id=cls.user_id, owner_id=doc.owner)

    @classmethod
    def readable_owners(cls) -> tuple[str, ...]:
        """The owners whose documents this user may read: the user and their groups."""
        return readable_owners(cls.acl, cls.user_id or "",
                               cls.known_memberships(cls.user_id) or {})

    @classmethod
    def feed_owner(cls) -> str | tuple[str, ...] | None:
        """The owners a feed must be limited to for this user (None: every document): the user
        alone, or with the groups they read; raises AccessDeniedError when they may read
        nothing."""
        scope = cls.read_scope()
        if scope == "all":
            return None
        if scope == "none":
            raise cls._denied(READ)
        return cls.readable_owners() if cls.groups is not None else cls.user_id

    @classmethod
    def check_replicate(cls) -> None:
        """Raise AccessDeniedError unless this class's user may replicate the model."""
        cls._enforce(REPLICATE, None)

    @classmethod
    def _scoped(cls, query: Query) -> Query:
        """`query` (already checked against the limits) narrowed to what this user may read."""
        return replace(query, where=cls._scoped_where(query.where))

    @classmethod
    def _scoped_where(cls, where: Any) -> Any:
        scope = cls.read_scope()
        if scope == "all":
            return where
        if scope == "none" or cls.owned_by not in cls.fields:
            raise cls._denied(READ)
        if cls.groups is None:
            mine: dict = {cls.owned_by: cls.user_id}
        else:
            mine = {cls.owned_by: {"inq": list(cls.readable_owners())}}
        return {"and": [where, mine]} if where else mine
