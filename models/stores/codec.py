"""How local stores turn a `Document` into one JSON text and back (the Web Storage entry format).

`base_data` is left out while it equals `data`, which is the common case after a sync, so a
synced document costs little more than its body.
"""

from __future__ import annotations

import json

from ..changes import ChangeType
from .base import Document


def encode(doc: Document) -> str:
    entry = {
        "rev": doc.rev,
        "checkpoint": doc.checkpoint,
        "type": doc.type.value,
        "history": list(doc.history),
        "deleted": doc.deleted,
        "data": doc.data,
    }
    if doc.owner is not None:
        entry["owner"] = doc.owner
    if doc.base_rev is not None:
        entry["base_rev"] = doc.base_rev
        if doc.base_rev != doc.rev:
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
    base_rev = entry.get("base_rev")
    at_base = base_rev is not None and base_rev == entry["rev"]
    base_data = data if at_base else entry.get("base_data")
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
        owner=entry.get("owner"),
    )
