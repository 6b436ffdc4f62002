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
