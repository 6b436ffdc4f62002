"""The short key prefix of one app in Web Storage, with the record that says whose it is.

Every key of a document repeats its prefix, and `offsync:todo:<32-hex user id>:` was 46
characters of it. The prefix is now `o` + 4 characters of a hash of the app's name + `:` (6),
and the key `<prefix>@` records the name it belongs to (`{"app": ...}`), so a second app whose
name hashes the same is detected and takes the next candidate (a hash of the name and the
attempt number) instead of reading the first one's data. While entries of the earlier layout are
being moved in (`relayout.py`) the record says `"moving": true`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

LEGACY = "offsync:{app}:"  # the prefix of the earlier layout
CLAIM = "@"  # the key, under the prefix, of the record naming its app
ATTEMPTS = 64  # candidates tried before giving up (64 apps whose names collide: not met)


def candidate(app: str, attempt: int = 0) -> str:
    """The prefix `app` takes at its `attempt`-th try (0 unless another app holds that one)."""
    seed = app if attempt == 0 else f"{app}#{attempt}"
    digest = hashlib.sha256(seed.encode()).digest()
    return "o" + base64.urlsafe_b64encode(digest[:3]).decode() + ":"


def read_claim(storage: Any, prefix: str) -> dict | None:
    """The record under `prefix`; {} when it is there but damaged (then it is taken for another
    app's: reading another user's data would be worse than not finding one's own), None when it
    is not there."""
    raw = storage.getItem(prefix + CLAIM)
    if not isinstance(raw, str):
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return record if isinstance(record, dict) and isinstance(record.get("app"), str) else {}


def resolve(storage: Any, app: str) -> tuple[str, dict | None]:
    """The prefix of `app` and its record (None: a new namespace, not yet claimed)."""
    for attempt in range(ATTEMPTS):
        prefix = candidate(app, attempt)
        record = read_claim(storage, prefix)
        if record is None or record.get("app") == app:
            return prefix, record
    raise RuntimeError(f"no free Web Storage namespace for {app!r}")


def claim_text(app: str, moving: bool = False) -> str:
    record: dict = {"app": app}
    if moving:
        record["moving"] = True
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


__all__ = ["CLAIM", "LEGACY", "candidate", "claim_text", "read_claim", "resolve"]
