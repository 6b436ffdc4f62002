"""Access rules declared on a model, LoopBack style, evaluated by the same code everywhere.

A rule names a principal (a role), an access type and a permission. As in LoopBack, the most
specific role that has a matching rule decides ($owner over $editor over $viewer over
$authenticated over $everyone); at that level a DENY beats an ALLOW; with no matching rule at
all, access is denied.

Roles follow data: a user is `$owner` of a document they own, and holds whatever role their
*memberships* give them towards its owner when that is not a user but a group (a todo's list:
`{"<list id>": "$editor"}`, read from the group documents by `models/model_access.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

READ = "READ"
WRITE = "WRITE"
REPLICATE = "REPLICATE"
ALL = "*"

EVERYONE = "$everyone"
AUTHENTICATED = "$authenticated"
OWNER = "$owner"
EDITOR = "$editor"  # a member of the group that owns the document, who may change it
VIEWER = "$viewer"  # a member who may only read it

ALLOW = "ALLOW"
DENY = "DENY"


@dataclass(frozen=True)
class AccessRule:
    principal: str
    access: str = ALL
    permission: str = ALLOW

    def __post_init__(self) -> None:
        if self.access not in (READ, WRITE, REPLICATE, ALL):
            raise ValueError(f"unknown access type {self.access!r}")
        if self.permission not in (ALLOW, DENY):
            raise ValueError(f"permission must be ALLOW or DENY, not {self.permission!r}")


Memberships = Mapping[str, str]  # owner (a group's id) -> the role the user holds there


def roles_of(user_id: str | None, owner_id: str | None,
             memberships: Memberships | None = None) -> set[str]:
    """The roles a user holds towards one document (or towards the model, with no owner)."""
    roles = {EVERYONE}
    if user_id:
        roles.add(AUTHENTICATED)
        if owner_id and owner_id == user_id:
            roles.add(OWNER)
        elif owner_id and memberships and owner_id in memberships:
            roles.add(memberships[owner_id])
    return roles


SPECIFICITY = (OWNER, EDITOR, VIEWER, AUTHENTICATED, EVERYONE)


def is_allowed(
    rules: list[AccessRule] | tuple[AccessRule, ...],
    access: str,
    *,
    user_id: str | None = None,
    owner_id: str | None = None,
    memberships: Memberships | None = None,
) -> bool:
    roles = roles_of(user_id, owner_id, memberships)
    for role in SPECIFICITY:
        if role not in roles:
            continue
        matching = [r for r in rules if r.principal == role and r.access in (access, ALL)]
        if matching:
            return all(r.permission == ALLOW for r in matching)
    return False


def read_scope(rules: list[AccessRule] | tuple[AccessRule, ...], user_id: str | None) -> str:
    """Which documents `user_id` may read: `all`, only its `own`, or `none`.

    Used to filter queries and the replication feed, so a client only ever receives what its
    user may read.
    """
    if is_allowed(rules, READ, user_id=user_id, owner_id=None):
        return "all"
    if user_id and is_allowed(rules, READ, user_id=user_id, owner_id=user_id):
        return "own"
    return "none"


def readable_owners(rules: list[AccessRule] | tuple[AccessRule, ...], user_id: str,
                    memberships: Memberships) -> tuple[str, ...]:
    """The owners whose documents `user_id` may read (scope `own`): the user, and every group
    of theirs whose role reads, sorted (a feed and a query are narrowed to these)."""
    groups = {owner for owner in memberships
              if is_allowed(rules, READ, user_id=user_id, owner_id=owner,
                            memberships=memberships)}
    return tuple(sorted(groups - {user_id})) + (user_id,)
