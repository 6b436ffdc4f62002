"""Moving a whole deployment from one database to another (`offsync replicate sqlite:///a.db
postgresql://...`): what `replicate()` does not move because it is no document.

`replicate()` copies every model's documents (every user's: between two databases nobody signs
in), tombstones included. Beside them a deployment has its accounts, which must arrive with their
ids (every document's `owner` names one), password hashes (people log in afterwards with their
passwords) and creation times, and the conflicts its server recorded (the other side's revision,
kept until the user resolves it). Sessions and rate-limit counters are not moved: people log in
again on the new database.

Everything goes through `open_store` and `server.database.Database` (`database_of`), so a new
database adapter moves like SQLite does. Running it twice changes nothing: accounts already
there (same id) are skipped, and so are conflicts the target has recorded or resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.stores import Store

from .accounts import Accounts, User
from .stores import database_of


class AccountClashError(ValueError):
    """A username of the source is taken in the target by another account (another id)."""


@dataclass(frozen=True)
class AccountsPlan:
    """What copying the accounts will do: `new` are copied, `there` are in the target already."""

    new: list[tuple[User, str, float]]
    there: list[User]


async def plan_accounts(source: Store, target: Store) -> AccountsPlan:
    """Which accounts of `source` the target lacks. Raises AccountClashError, naming them, when
    a username is taken there by another id: its owner ids would not match, so nothing is moved
    before that is settled."""
    source_accounts, target_accounts = Accounts(database_of(source)), Accounts(database_of(target))
    for table in (source_accounts, target_accounts):
        await table.create_schema()  # a database that never ran a server has no users table
    new, there, clashes = [], [], []
    for user, password_hash, created_at in await source_accounts.everyone():
        if await target_accounts.get(user.id) is not None:
            there.append(user)
            continue
        taken = await target_accounts.password_hash(user.username)
        if taken is not None:
            clashes.append(f"{user.username!r} (id {user.id} here, {taken[0].id} there)")
        else:
            new.append((user, password_hash, created_at))
    if clashes:
        raise AccountClashError(
            "the target database has another account of the same username: "
            + ", ".join(clashes) + ". Their documents would belong to the wrong account; "
            "rename or remove one of them first. Nothing was copied.")
    return AccountsPlan(new, there)


async def copy_accounts(target: Store, plan: AccountsPlan) -> int:
    """Create the planned accounts in the target, with their ids, hashes and creation times."""
    accounts = Accounts(database_of(target))
    for user, password_hash, created_at in plan.new:
        await accounts.create(user.username, password_hash, id=user.id, created_at=created_at)
    return len(plan.new)


async def copy_conflicts(source: Store, target: Store, models: Sequence[type]) -> dict[str, int]:
    """Record in the target every conflict the source recorded and the target has not (nor
    resolved: a target revision descending from the other side's revision settles it). Per
    model, how many were recorded. Run after the documents were replicated."""
    copied: dict[str, int] = {}
    for model in models:
        name = model.collection
        recorded = {theirs.id: theirs.rev for _, theirs in await target.conflicts(name)}
        count = 0
        for _, theirs in await source.conflicts(name):
            if recorded.get(theirs.id) == theirs.rev:
                continue
            current = await target.get_any(name, theirs.id)
            if current is not None and current.knows(theirs.rev):
                continue
            await target.record_conflict(theirs)
            count += 1
        copied[name] = count
    return copied


__all__ = ["AccountClashError", "AccountsPlan", "copy_accounts", "copy_conflicts",
           "plan_accounts"]
