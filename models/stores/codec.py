"""How local stores turn a `Document` into one JSON text and back (the Web Storage entry format).

localStorage holds about 5 M characters, so an entry carries only what cannot be derived: the
defaults (`type` "update", no `history`, not `deleted`) are left out, `owner` only when it differs
from `data["owner"]`, and a document whose merge base is its own revision (the common case after a
sync) says `"synced": true` instead of repeating its revision and body. `decode` also reads the
longer entries earlier versions wrote.
"""

from __future__ import annotations

import json

from ..changes import ChangeType
from .base import Document


def encode(doc: Document) -> str:
    """The entry, leaving out whatever `decode` can tell without it (see the module doc)."""
    entry: dict = {"rev": doc.rev, "checkpoint": doc.checkpoint}
    if doc.type is not ChangeType.UPDATE:
        entry["type"] = doc.type.value
    if doc.history:
        entry["history"] = list(doc.history)
    if doc.deleted:
        entry["deleted"] = True
    entry["data"] = doc.data
    if doc.owner != (doc.data or {}).get("owner"):
        entry["owner"] = doc.owner
    if doc.base_rev is not None and doc.base_rev == doc.rev:
        entry["synced"] = True  # the server has this very revision: the merge base is itself
    elif doc.base_rev is not None:
        entry["base_rev"] = doc.base_rev
        entry["base_data"] = doc.base_data
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def decode(model: str, id: str, raw: str) -> Document:
    """Raises ValueError, KeyError or TypeError when `raw` is not an entry we wrote."""
    entry = json.loads(raw)
    if not isinstance(entry, dict):
        raise TypeError("not a document entry")
    deleted = bool(entry.get("deleted", False))
    data = entry.get("data")
    if not isinstance(entry["rev"], str) or (not deleted and not isinstance(data, dict)):
        raise ValueError("not a document entry")
    history = entry.get("history", [])
    if not isinstance(history, list):
        raise ValueError("history is not a list")
    base_rev = entry["rev"] if entry.get("synced") else entry.get("base_rev")
    at_base = base_rev is not None and base_rev == entry["rev"]
    base_data = data if at_base else entry.get("base_data")
    owner = entry["owner"] if "owner" in entry else (data or {}).get("owner")
    return Document(
        model=model,
        id=id,
        rev=entry["rev"],
        checkpoint=int(entry["checkpoint"]),
        deleted=deleted,
        data=None if deleted else data,
        type=ChangeType(entry.get("type", "update")),
        history=tuple(history),
        base_rev=base_rev,
        base_data=base_data,
        owner=owner,
    )
