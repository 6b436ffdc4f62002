"""The access rules half of `Model`: who may read, write and replicate its documents.

The rules themselves are data (`models/access.py`: a model's `acl`); this mixin applies them for
the user a model class is bound to (`Todo.as_user(id)`), the same way in the browser and on the
server. Queries are narrowed to what the user may read, and what they may not read does not
exist for them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from .access import READ, REPLICATE, AccessRule, is_allowed, read_scope
from .document import Document
from .errors import AccessDeniedError
from .filters import Query


class AccessControlled:
    """Mixed into `Model`, which defines these class attributes."""

    collection: ClassVar[str]
    acl: ClassVar[tuple[AccessRule, ...]]
    fields: ClassVar[dict[str, Any]]
    user_id: ClassVar[str | None]
    enforce_access: ClassVar[bool]

    @classmethod
    def can(cls, access: str, *, user_id: str | None = None, owner_id: str | None = None) -> bool:
        return is_allowed(cls.acl, access, user_id=user_id, owner_id=owner_id)

    @classmethod
    def check_access(cls, access: str, **who: Any) -> None:
        if not cls.can(access, **who):
            raise cls._denied(access)

    @classmethod
    def _denied(cls, access: str) -> AccessDeniedError:
        return AccessDeniedError(f"{access} on {cls.collection} is not allowed", {"access": access})

    @classmethod
    def _enforce(cls, access: str, owner_id: str | None) -> None:
        if cls.enforce_access:
            cls.check_access(access, user_id=cls.user_id, owner_id=owner_id)

    @classmethod
    def read_scope(cls) -> str:
        """`all`, `own` or `none`: what this class's user may read (see access.read_scope)."""
        return read_scope(cls.acl, cls.user_id) if cls.enforce_access else "all"

    @classmethod
    def readable(cls, doc: Document) -> bool:
        """Whether this class's user may read `doc`: what they may not does not exist for them."""
        return not cls.enforce_access or cls.can(READ, user_id=cls.user_id, owner_id=doc.owner)

    @classmethod
    def feed_owner(cls) -> str | None:
        """The owner a feed must be limited to for this user (None: every document); raises
        AccessDeniedError when the user may read nothing."""
        scope = cls.read_scope()
        if scope == "all":
            return None
        if scope == "none":
            raise cls._denied(READ)
        return cls.user_id

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
        if scope == "none" or "owner" not in cls.fields:
            raise cls._denied(READ)
        mine = {"owner": cls.user_id}
        return {"and": [where, mine]} if where else mine
