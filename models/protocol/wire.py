"""The wire forms the sync protocol moves: a document, a change, an outcome and a database's
identity, each with its encoder and its checking decoder (docs/PROTOCOL.md, "The wire doc").

A decoder raises ValueError (KeyError for a missing key of a change) naming what is wrong; the
server turns that into a 400 and `RemoteStore` into a TransportError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..changes import Change, ChangeType
from ..document import UNACKED_LIMIT, Document
from ..limits import MAX_INTEGER, parse_ascii_int
from ..outcome import Outcome
from ..ownership import owner_of
from ..revisions import REVISION_FORM, is_revision, join_histories
from .limits import MAX_WIRE_HISTORY


def doc_to_wire(doc: Document) -> dict[str, Any]:
    """The JSON form replication sends (the protocol's `doc`)."""
    out: dict[str, Any] = {
        "id": doc.id,
        "rev": doc.rev,
        "history": list(doc.history),
        "deleted": doc.deleted,
        "data": doc.data,
        "type": doc.type.value,
        "checkpoint": doc.checkpoint,
        "base_rev": doc.base_rev,
        "owner": doc.owner,
    }
    if doc.base_rev is not None and doc.base_rev != doc.rev:
        out["base_data"] = doc.base_data
    if doc.unacked:
        out["unacked"] = [{"rev": rev, "data": body} for rev, body in doc.unacked]
    return out


def _checkpoint(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INTEGER:
        raise ValueError(f"{what}.checkpoint must be an integer from 0 to 2^63-1")
    return value


def _history(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(is_revision(rev) for rev in value):
        raise ValueError(f"{what}.history must be a list of revisions: {REVISION_FORM}")
    if len(value) > MAX_WIRE_HISTORY:
        raise ValueError(f"{what}.history has {len(value)} revisions; at most "
                         f"{MAX_WIRE_HISTORY}")
    return value


def doc_from_wire(model: str, raw: Any) -> Document:
    """Parse and check a protocol `doc` of `model`; raises ValueError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("a doc must be an object")
    id, rev, history = raw.get("id"), raw.get("rev"), raw.get("history", [])
    deleted, data = raw.get("deleted", False), raw.get("data")
    if not isinstance(deleted, bool):
        raise ValueError("doc.deleted must be true or false")
    if not isinstance(id, str) or not id:
        raise ValueError("doc.id must be a non-empty string")
    if not is_revision(rev):
        raise ValueError(f"doc.rev must be a revision: {REVISION_FORM}")
    _history(history, "doc")
    if deleted:
        data = None
    elif not isinstance(data, dict):
        raise ValueError("doc.data must be an object unless doc.deleted is true")
    base_rev = raw.get("base_rev")
    if base_rev is not None and not is_revision(base_rev):
        raise ValueError(f"doc.base_rev must be a revision ({REVISION_FORM}) or null")
    base_data = raw.get("base_data", data if base_rev == rev else None)
    if base_data is not None and not isinstance(base_data, dict):
        raise ValueError("doc.base_data must be an object or null")
    try:
        kind = ChangeType(raw.get("type", "delete" if deleted else "update"))
    except ValueError:
        raise ValueError("doc.type must be create, update or delete") from None
    checkpoint = _checkpoint(raw.get("checkpoint", 0), "doc")
    owner = owner_of(model, data, raw.get("owner"))
    if owner is not None and not isinstance(owner, str):
        raise ValueError("doc.owner must be a string or null")
    return Document(model, id, rev, checkpoint, deleted, data, kind, join_histories(history),
                    base_rev, base_data, owner, unacked_from_wire(raw.get("unacked", [])))


def unacked_from_wire(raw: Any) -> tuple[tuple[str, dict], ...]:
    """A wire doc's `unacked` (optional: older senders leave it out); ValueError if malformed."""
    if not isinstance(raw, list) or len(raw) > UNACKED_LIMIT:
        raise ValueError(f"doc.unacked must be a list of at most {UNACKED_LIMIT} objects")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("rev"), str) \
                or not is_revision(item["rev"]) or not isinstance(item.get("data"), dict):
            raise ValueError("each doc.unacked item must be {\"rev\": <revision>, \"data\": {...}}")
        out.append((item["rev"], item["data"]))
    return tuple(out)


def change_to_wire(change: Change) -> dict[str, Any]:
    """A change as `diff` sends it."""
    return change.to_dict()


def change_from_wire(model: str, raw: Any) -> Change:
    """Parse and check a change sent to `diff` (the same revision rules as a wire doc, a
    checkpoint a store can hold); `model` comes from the URL, whatever `raw` says. Raises
    KeyError for a missing key, ValueError (or TypeError) for a wrong one."""
    if not isinstance(raw, dict):
        raise ValueError("a change must be an object")
    for key in ("id", "rev", "checkpoint", "type"):
        if key not in raw:
            raise KeyError(key)
    if not isinstance(raw["id"], str) or not raw["id"]:
        raise ValueError("change.id must be a non-empty string")
    if not is_revision(raw["rev"]):
        raise ValueError(f"change.rev must be a revision: {REVISION_FORM}")
    prev = raw.get("prev")
    if prev is not None and not is_revision(prev):
        raise ValueError(f"change.prev must be a revision ({REVISION_FORM}) or null")
    _history(raw.get("history") or [], "change")
    _checkpoint(raw["checkpoint"], "change")
    if raw["type"] not in [kind.value for kind in ChangeType]:
        raise ValueError("change.type must be create, update or delete")
    return Change.from_dict({**raw, "model": model})


def outcome_to_wire(outcome: Outcome) -> dict[str, Any]:
    """One entry of `apply`'s `results`."""
    return {
        "id": outcome.id,
        "rev": outcome.rev,
        "status": outcome.status,
        "current": doc_to_wire(outcome.current) if outcome.current is not None else None,
        "error": outcome.error,
    }


def outcome_from_wire(raw: Any, read_doc: Callable[[Any], Document]) -> Outcome:
    """Parse one entry of `apply`'s `results`, its `current` with `read_doc`; ValueError if it
    has no status."""
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
        raise ValueError("a result without a status")
    current = raw.get("current")
    return Outcome(raw.get("id"), raw.get("rev"), raw["status"],
                   None if current is None else read_doc(current), raw.get("error"))


def database_to_wire(identity: int) -> str:
    """A database's identity as answers carry it: decimal text, so that every JSON reader keeps
    it exact (an identity is compared, never computed with)."""
    return str(identity)


def database_from_wire(raw: Any) -> int:
    """An answer's `database`; ValueError unless it is decimal text of a positive 64-bit
    integer."""
    value = parse_ascii_int(raw) if isinstance(raw, str) else None
    if value is None or value <= 0:
        raise ValueError("database must be the decimal text of a positive integer")
    return value


__all__ = ["change_from_wire", "change_to_wire", "database_from_wire", "database_to_wire",
           "doc_from_wire", "doc_to_wire", "outcome_from_wire", "outcome_to_wire",
           "unacked_from_wire"]
