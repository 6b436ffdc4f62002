"""Access rules declared on a model, LoopBack style, evaluated by the same code everywhere.

A rule names a principal (a role), an access type and a permission. A request is allowed when a
matching rule allows it and no matching rule denies it; with no matching rule it is denied.
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


def is_allowed(
    rules: list[AccessRule] | tuple[AccessRule, ...],
    access: str,
    *,
    user_id: str | None = None,
    owner_id: str | None = None,
) -> bool:
    roles = roles_of(user_id, owner_id)
    matching = [r for r in rules if r.principal in roles and r.access in (access, ALL)]
    if any(r.permission == DENY for r in matching):
        return False
    return any(r.permission == ALLOW for r in matching)
