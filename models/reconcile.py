"""How a store takes a revision from another store: the one place that decides
fast-forward, already-known, automatic merge, or conflict (rules 2 and 4 in
docs/ARCHITECTURE.md).

Pure functions over `Document`s, so every store (and the server) decides the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .changes import ChangeType
from .document import Document, acknowledged, behind_base
from .ownership import owner_of
from .revisions import join_histories, merge_revision

Merge = Callable[[dict, dict, dict], "dict | None"]


@dataclass(frozen=True)
class Decision:
    status: str  # applied | unchanged | merged | conflict
    doc: Document | None = None  # what to store, if anything
    bookkeeping: bool = False  # `doc` only records what the peer holds: no new checkpoint


def classify(current: Document | None, rev: str, history: tuple[str, ...]) -> str:
    """What an incoming revision (with its ancestors) is to a store holding `current`:
    missing (a fast-forward), known, or conflict (both moved on: a merge or a real conflict)."""
    if current is None or current.rev in history:
        return "missing"
    if current.knows(rev):
        return "known"
    return "conflict"


def three_way_merge(base: dict, mine: dict, theirs: dict) -> dict | None:
    """Field by field: a field changed on one side only takes that change; changed on both
    sides to different values, there is no automatic answer (None)."""
    merged: dict[str, Any] = {}
    for name in sorted(set(base) | set(mine) | set(theirs)):
        b, m, t = base.get(name), mine.get(name), theirs.get(name)
        if m == t or t == b:
            merged[name] = m
        elif m == b:
            merged[name] = t
        else:
            return None
    return merged


def common_base(current: Document, incoming: Document) -> dict | None:
    """The body of the newest revision both sides descend from, if either side kept it (as its
    merge base, or among the bodies it sent unacknowledged). An older common ancestor is never
    used instead: a change made and undone since would be taken for no change."""
    shared = [rev for rev in (incoming.rev, *incoming.history) if current.knows(rev)]
    if not shared:
        return None
    ancestor = shared[0]
    for side in (incoming, current):
        body = side.body_of(ancestor)
        if body is not None:
            return body
    return None


def reconcile(
    current: Document | None, incoming: Document, merge: Merge | None, *, from_peer: bool = True,
    peer_current: bool = False,
) -> Decision:
    merge = merge or three_way_merge
    synced = replace(incoming, base_rev=incoming.rev, base_data=incoming.data, unacked=()) \
        if from_peer else incoming
    if current is None:
        return Decision("applied", synced)
    if current.knows(incoming.rev):
        # An echo from a peer proves the peer holds it: it may become the merge base.
        if peer_current and (resend := behind_base(current, incoming)) is not None:
            return Decision("unchanged", resend)  # a change again: the next push sends it
        held = acknowledged(current, incoming) if from_peer else None
        return Decision("unchanged", held, bookkeeping=held is not None)
    if incoming.knows(current.rev):
        return Decision("applied", synced)
    # Both sides moved on since they last agreed.
    history = join_histories((current.rev, incoming.rev), current.history, incoming.history)
    if current.deleted and incoming.deleted:
        rev = merge_revision([current.rev, incoming.rev], None, deleted=True)
        return Decision("merged", Document(
            current.model, current.id, rev, 0, True, None, ChangeType.DELETE, history,
            incoming.rev, None, current.owner,
        ))
    if current.deleted or incoming.deleted:
        return Decision("conflict")  # an edit against a delete is the user's call
    mine, theirs = current.data or {}, incoming.data or {}
    base = common_base(current, incoming)
    if base is not None:
        merged = merge(base, mine, theirs)
    else:
        # No side kept the newest common ancestor's body (several newest ones after criss-cross
        # resolutions, or one dropped past a bound): the two sides still merge when the result
        # cannot depend on it, i.e. taking either side as the base gives the same body (for the
        # field-by-field merge: they agree on every field but the save stamps).
        merged = merge(mine, mine, theirs)
        if merged is not None and merged != merge(theirs, mine, theirs):
            merged = None
    if merged is None:
        return Decision("conflict")
    rev = merge_revision([current.rev, incoming.rev], merged)
    unacked = tuple(item for item in current.unacked if not incoming.knows(item[0]))
    return Decision("merged", Document(
        current.model, current.id, rev, 0, False, merged, ChangeType.UPDATE, history,
        incoming.rev, incoming.data, owner_of(current.model, merged, current.owner), unacked,
    ))
