"""Revisions name a document's content and history: `<generation>-<hash of body and parent>`.

Two stores that apply the same edit to the same parent compute the same revision, so writing a
revision that is already there is recognisably a no-op, and retries are always safe.
"""

from __future__ import annotations

import hashlib
import json


def canonical_json(data: dict | None) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def generation(rev: str | None) -> int:
    if not rev:
        return 0
    head, _, _ = rev.partition("-")
    return int(head) if head.isdigit() else 0


def next_revision(prev: str | None, data: dict | None, deleted: bool = False) -> str:
    """The revision that follows `prev` when the body becomes `data` (or a tombstone)."""
    digest = hashlib.sha256()
    digest.update((prev or "").encode())
    digest.update(b"\x00deleted\x00" if deleted else b"\x00")
    digest.update(canonical_json(data).encode())
    return f"{generation(prev) + 1}-{digest.hexdigest()[:32]}"


def merge_revision(parents: list[str], data: dict | None, deleted: bool = False) -> str:
    """The revision that joins two histories (a merge or a conflict resolution).

    It depends only on the parents (in any order) and the body, so two stores that make the same
    merge name it the same and replicating it back and forth is a no-op.
    """
    digest = hashlib.sha256(b"merge\x00")
    for parent in sorted(parents):
        digest.update(parent.encode() + b"\x00")
    digest.update(b"deleted\x00" if deleted else b"\x00")
    digest.update(canonical_json(data).encode())
    return f"{max(generation(p) for p in parents) + 1}-{digest.hexdigest()[:32]}"


HISTORY_LIMIT = 50


def join_histories(
    *histories: tuple[str, ...] | list[str], keep: str | None = None
) -> tuple[str, ...]:
    """Ancestors of a revision, newest generation first, without repeats, at most HISTORY_LIMIT
    (plus `keep`, the merge base, which is never cut: it is the revision a peer holds).

    Ancestry decides fast-forward versus conflict; a history cut short can only turn a
    fast-forward into a reported conflict, never lose a write.
    """
    seen: dict[str, None] = {}
    for history in histories:
        for rev in history:
            seen.setdefault(rev, None)
    ordered = sorted(seen, key=lambda rev: (-generation(rev), rev))[:HISTORY_LIMIT]
    if keep is not None and keep in seen and keep not in ordered:
        ordered.append(keep)
    return tuple(ordered)
