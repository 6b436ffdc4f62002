"""Access rules declared on a model, LoopBack style, evaluated by the same code everywhere.

A rule names a principal (a role), an access type and a permission. As in LoopBack, the most
specific role that has a matching rule decides ($owner over $authenticated over $everyone); at
that level a DENY beats an ALLOW; with no matching rule at all, access is denied.
"""

from __future__ import annotations

from dataclasses import dataclass

READ = "READ"
WRITE = "WRITE"
REPLICATE = "REPLICATE"
ALL = "*"

EVERYONE = "$everyone"
AUTHENTICATED = "$authenticated"
OWNER = "$owner"

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


def roles_of(user_id: str | None, owner_id: str | None) -> set[str]:
    """The roles a user holds towards one document (or towards the model, with no owner)."""
    roles = {EVERYONE}
    if user_id:
        roles.add(AUTHENTICATED)
        if owner_id and owner_id == user_id:
            roles.add(OWNER)
    return roles


SPECIFICITY = (OWNER, AUTHENTICATED, EVERYONE)


def is_allowed(
    rules: list[AccessRule] | tuple[AccessRule, ...],
    access: str,
    *,
    user_id: str | None = None,
    owner_id: str | None = None,
) -> bool:
    roles = roles_of(user_id, owner_id)
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
