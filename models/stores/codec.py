"""The earlier entry format: a `Document` as one JSON object. Entries are now written in the
compact format (`compact.py`); this one is still read wherever it is met (`compact.decode`
hands it here), by the move of the earlier Web Storage layout (`relayout.py`), and by SQLite's
upgrade of files that kept documents as JSON text.

localStorage holds about 5 M characters, so an entry carries only what cannot be derived: the
defaults (`type` "update", no `history`, not `deleted`) are left out; `owner` is written only when
it differs from the one its body names (`models.ownership.owner_of`); `data["id"]` not at all (the
key names the document, and every model's data carries its id); an edited document's merge base
only as the fields it differs in (`base_diff`, `base_gone`); and a document whose merge base is its
own revision (the common case after a sync) says `"synced": true` instead of repeating its revision
and body. The bodies of unacknowledged revisions (`unacked`, only on documents whose push got no
answer) are deltas against `data` too: `[rev, changed fields]`, or `[rev, changed fields, fields it
lacks]`. `decode` also reads the longer entries earlier versions wrote.
"""

from __future__ import annotations

import json

from ..changes import ChangeType
from ..document import Document
from ..ownership import owner_of


def encode(doc: Document) -> str:
    """The entry, leaving out whatever `decode` can tell without it (see the module doc)."""
    entry: dict = {"rev": doc.rev, "checkpoint": doc.checkpoint}
    if doc.type is not ChangeType.UPDATE:
        entry["type"] = doc.type.value
    if doc.history:
        entry["history"] = list(doc.history)
    if doc.deleted:
        entry["deleted"] = True
    data = doc.data
    if isinstance(data, dict) and data.get("id") == doc.id:  # the key already names it
        entry["data"] = {k: v for k, v in data.items() if k != "id"}
    else:
        entry["data"] = data
    if doc.owner != owner_of(doc.model, doc.data):
        entry["owner"] = doc.owner
    if doc.base_rev is not None and doc.base_rev == doc.rev:
        entry["synced"] = True  # the server has this very revision: the merge base is itself
    elif doc.base_rev is not None:
        entry["base_rev"] = doc.base_rev
        base = doc.base_data
        if isinstance(base, dict) and isinstance(data, dict):  # an edit: the base as a delta
            entry["base_diff"] = {k: v for k, v in base.items() if k not in data or data[k] != v}
            gone = [k for k in data if k not in base]
            if gone:
                entry["base_gone"] = gone
        else:
            entry["base_data"] = base
    if doc.unacked and isinstance(data, dict):
        entry["unacked"] = [_delta(rev, body, data) for rev, body in doc.unacked]
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def _delta(rev: str, body: dict, data: dict) -> list:
    changed = {k: v for k, v in body.items() if k not in data or data[k] != v}
    gone = [k for k in data if k not in body]
    return [rev, changed, gone] if gone else [rev, changed]


def _undelta(item: list, data: dict) -> tuple[str, dict]:
    if not isinstance(item, list) or len(item) not in (2, 3) or not isinstance(item[0], str) \
            or not isinstance(item[1], dict) or not isinstance(item[-1], (dict, list)):
        raise ValueError("not a document entry")
    gone = item[2] if len(item) == 3 else []
    body = {k: v for k, v in data.items() if k not in gone}
    body.update(item[1])
    return item[0], body


def decode(model: str, id: str, raw: str) -> Document:
    """Raises ValueError, KeyError or TypeError when `raw` is not an entry we wrote."""
    entry = json.loads(raw)
    if not isinstance(entry, dict):
        raise TypeError("not a document entry")
    deleted = bool(entry.get("deleted", False))
    data = entry.get("data")
    if isinstance(data, dict) and "id" not in data:
        data = {"id": id, **data}
    if not isinstance(entry["rev"], str) or (not deleted and not isinstance(data, dict)):
        raise ValueError("not a document entry")
    history = entry.get("history", [])
    if not isinstance(history, list):
        raise ValueError("history is not a list")
    base_rev = entry["rev"] if entry.get("synced") else entry.get("base_rev")
    at_base = base_rev is not None and base_rev == entry["rev"]
    if at_base:
        base_data = data
    elif "base_diff" in entry:
        diff, gone = entry["base_diff"], entry.get("base_gone", [])
        if not isinstance(diff, dict) or not isinstance(gone, list) or not isinstance(data, dict):
            raise ValueError("not a document entry")
        base_data = {k: v for k, v in data.items() if k not in gone}
        base_data.update(diff)
    else:
        base_data = entry.get("base_data")
    owner = entry["owner"] if "owner" in entry else owner_of(model, data)
    unacked = entry.get("unacked", [])
    if not isinstance(unacked, list) or (unacked and not isinstance(data, dict)):
        raise ValueError("not a document entry")
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
        unacked=tuple(_undelta(item, data) for item in unacked),
    )
