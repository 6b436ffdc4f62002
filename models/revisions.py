"""Revisions name a document's content and history: `<generation>-<hash of body and parent>`.

Two stores that apply the same edit to the same parent compute the same revision, so writing a
revision that is already there is recognisably a no-op, and retries are always safe. The body's
`owner` is not hashed: it is each server's bookkeeping (its own id of the account), so a document
moved between servers keeps its revision while its owner is mapped to the receiving account, and
two servers making the same merge still name it the same (docs/PROTOCOL.md, "Owners").

A revision is exactly `REVISION`: a generation of 1 to MAX_GENERATION (at most 9 ASCII digits,
no leading zero), a dash and 32 lowercase hex digits, nothing before or after (it travels in
`ETag` headers, so a stray newline must never get in). A document at MAX_GENERATION takes no
further write (RevisionLimitError): a billion edits of one document are not a real use.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .errors import OffsyncError

MAX_GENERATION = 999_999_999
REVISION = re.compile(r"[1-9][0-9]{0,8}-[0-9a-f]{32}")
REVISION_FORM = "<generation>-<32 hex digits>, the generation 1-999999999"


class RevisionLimitError(OffsyncError):
    """The document's revision is at MAX_GENERATION: no further revision can be made."""

    status = 409
    code = "REVISION_LIMIT"


def is_revision(value: Any) -> bool:
    """Whether `value` is a revision string, exactly (`re.fullmatch`, not `match` with `$`)."""
    return isinstance(value, str) and REVISION.fullmatch(value) is not None


def canonical_json(data: dict | None) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


OWNER = "owner"  # the body key naming the owning account (also `Document.owner`)


def named_content(data: dict | None) -> dict | None:
    """What a revision names: the body without its `owner` (see the module's docstring)."""
    if data is None or OWNER not in data:
        return data
    return {key: value for key, value in data.items() if key != OWNER}


def generation(rev: str | None) -> int:
    """The revision's generation; 0 for None or for anything that does not start with at most
    9 ASCII digits (`str.isdigit` also takes '²', which `int` refuses)."""
    if not rev:
        return 0
    head, _, _ = rev.partition("-")
    if 0 < len(head) <= 9 and head.isascii() and head.isdigit():
        return int(head)
    return 0


def _next_generation(value: int, parents: Any) -> int:
    if value > MAX_GENERATION:
        raise RevisionLimitError(
            f"the document is at revision generation {MAX_GENERATION}, the largest there is; "
            "it takes no further write", {"revisions": list(parents), "max": MAX_GENERATION})
    return value


def next_revision(prev: str | None, data: dict | None, deleted: bool = False) -> str:
    """The revision that follows `prev` when the body becomes `data` (or a tombstone)."""
    digest = hashlib.sha256()
    digest.update((prev or "").encode())
    digest.update(b"\x00deleted\x00" if deleted else b"\x00")
    digest.update(canonical_json(named_content(data)).encode())
    return f"{_next_generation(generation(prev) + 1, [prev])}-{digest.hexdigest()[:32]}"


def merge_revision(parents: list[str], data: dict | None, deleted: bool = False) -> str:
    """The revision that joins two histories (a merge or a conflict resolution).

    It depends only on the parents (in any order) and the body, so two stores that make the same
    merge name it the same and replicating it back and forth is a no-op.
    """
    digest = hashlib.sha256(b"merge\x00")
    for parent in sorted(parents):
        digest.update(parent.encode() + b"\x00")
    digest.update(b"deleted\x00" if deleted else b"\x00")
    digest.update(canonical_json(named_content(data)).encode())
    gen = _next_generation(max(generation(p) for p in parents) + 1, parents)
    return f"{gen}-{digest.hexdigest()[:32]}"


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
