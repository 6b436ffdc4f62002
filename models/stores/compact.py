"""The compact entry: one document as a short JSON array (the Web Storage and memory format).

localStorage holds about 5 M characters, and a typical todo once took 460 of them. An entry is
`[rev, checkpoint, shape, values..., extras?]`:
- `rev` packed (`packing.pack_rev`), with `+` instead of `-` when the merge base is this very
  revision (the common case after a sync);
- `shape`: the id of a *shape* kept once per namespace (`FieldShape`: the body's field names in
  order and the values every body of that shape shares, such as `completed: false`, `due: null`,
  the owner), followed by the other values in order, packed (`packing.pack_value`); or the body
  itself as an object when no shape fits; or null for a tombstone;
- `extras`, only when needed: `t` type (when not what the history says), `h` history, `d`
  deleted, `o` owner (when not the body's), `b` merge base revision (or its place in `h`) with
  `bd` / `bg` (the fields it differs in, the fields it lacks) or `bb` (a whole body), `s`
  synced (for an unpacked revision), `u` unacknowledged bodies as deltas.
A shape's id is 2 characters of a hash of its content, so writing it twice writes the same
thing, and two tabs cannot give one id two meanings. The id of the body is the key's, and is not
repeated. Entries of the earlier format (JSON objects, `codec.py`) still read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from ..changes import ChangeType
from ..document import Document
from ..ownership import owner_of
from . import codec
from .packing import pack_int, pack_rev, pack_value, unpack_rev, unpack_value

SHAPE_WIDTH = 2  # characters of a shape id: 28 bits


class FieldShape:
    """A body's field names in order, and the fields whose value comes from the shape."""

    __slots__ = ("defaults", "id", "names", "text")

    def __init__(self, names: list[str], defaults: dict) -> None:
        self.names, self.defaults = names, defaults
        self.text = json.dumps([names, defaults], ensure_ascii=False, separators=(",", ":"))
        digest = int.from_bytes(hashlib.sha256(self.text.encode()).digest()[:4], "big")
        self.id = pack_int(digest & ((1 << (14 * SHAPE_WIDTH)) - 1), SHAPE_WIDTH)

    @classmethod
    def parse(cls, text: str) -> FieldShape:
        names, defaults = json.loads(text)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) \
                or not isinstance(defaults, dict) or not set(defaults) <= set(names):
            raise ValueError("not a field shape")
        return cls(names, defaults)


_shapes: dict[tuple, FieldShape] = {}  # the shapes met so far: a handful per app


def shape_of(data: dict, owner: str | None) -> FieldShape:
    """The shape of a body (without its id): the values that repeat from body to body (null,
    true, false, the owner, the user who wrote it) belong to the shape, the rest are the entry's.
    A shared list gives one shape per writer: still a handful."""
    defaults = {k: v for k, v in data.items()
                if v is None or v is True or v is False or (owner is not None and v == owner)
                or (k == "owner" and isinstance(v, str) and len(v) <= 64)}
    key = (tuple(data), tuple(defaults.items()))
    found = _shapes.get(key)
    if found is None:
        if len(_shapes) >= 256:
            _shapes.clear()
        found = _shapes[key] = FieldShape(list(data), defaults)
    return found


def body_of(doc: Document) -> dict | None:
    data = doc.data
    if isinstance(data, dict) and data.get("id") == doc.id:
        return {k: v for k, v in data.items() if k != "id"}
    return data


def encode(doc: Document, shape: FieldShape | None) -> str:
    """The entry, with the body in `shape` (from `shape_of`, already stored) or as an object."""
    data = doc.data
    synced = doc.base_rev is not None and doc.base_rev == doc.rev
    rev = pack_rev(doc.rev, synced)
    body = body_of(doc)
    entry: list = [rev, doc.checkpoint]
    if body is None:
        entry.append(None)
    elif shape is not None:
        entry.append(shape.id)
        defaults = shape.defaults
        entry += [pack_value(body[k]) for k in shape.names if k not in defaults]
    else:
        entry.append({k: pack_value(v) for k, v in body.items()})
    extras: dict = {}
    derived = ChangeType.DELETE if doc.deleted else (
        ChangeType.UPDATE if doc.history else ChangeType.CREATE)
    if doc.type is not derived:
        extras["t"] = doc.type.value
    if doc.history:
        extras["h"] = [pack_rev(r) for r in doc.history]
    if doc.deleted:
        extras["d"] = 1
    if doc.owner != owner_of(doc.model, data):
        extras["o"] = doc.owner
    if synced and rev.startswith("="):
        extras["s"] = 1
    elif doc.base_rev is not None and not synced:
        # the merge base is nearly always an ancestor: its place in the history then names it
        extras["b"] = doc.history.index(doc.base_rev) if doc.base_rev in doc.history \
            else pack_rev(doc.base_rev)
        base = doc.base_data
        if isinstance(base, dict) and isinstance(data, dict):
            extras["bd"] = {k: pack_value(v) for k, v in base.items()
                            if k not in data or data[k] != v}
            gone = [k for k in data if k not in base]
            if gone:
                extras["bg"] = gone
        else:
            extras["bb"] = base
    if doc.unacked and isinstance(data, dict):
        extras["u"] = [_delta(rev, body, data) for rev, body in doc.unacked]
    if extras:
        entry.append(extras)
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


def _delta(rev: str, body: dict, data: dict) -> list:
    changed = {k: pack_value(v) for k, v in body.items() if k not in data or data[k] != v}
    gone = [k for k in data if k not in body]
    return [pack_rev(rev), changed, gone] if gone else [pack_rev(rev), changed]


def _undelta(item, data: dict) -> tuple[str, dict]:
    if not isinstance(item, list) or len(item) not in (2, 3) or not isinstance(item[0], str) \
            or not isinstance(item[1], dict) or not isinstance(item[-1], (dict, list)):
        raise ValueError("not a document entry")
    gone = item[2] if len(item) == 3 else []
    body = {k: v for k, v in data.items() if k not in gone}
    body.update({k: unpack_value(v) for k, v in item[1].items()})
    return unpack_rev(item[0])[0], body


def decode(model: str, id: str, raw: str,
           shapes: Callable[[str], FieldShape | None] = lambda _: None) -> Document:
    """Raises ValueError, KeyError or TypeError when `raw` is not an entry; `shapes` finds the
    shape of an id. Entries of the earlier format are read by `codec.decode`."""
    if not raw.startswith("["):
        return codec.decode(model, id, raw)
    entry = json.loads(raw)
    if not isinstance(entry, list) or len(entry) < 3 or not isinstance(entry[0], str) \
            or type(entry[1]) is not int:
        raise ValueError("not a document entry")
    rev, synced = unpack_rev(entry[0])
    form = entry[2]
    rest = entry[3:]
    if form is None:
        data = None
    elif isinstance(form, dict):
        data = {"id": id, **{k: unpack_value(v) for k, v in form.items()}}
    elif isinstance(form, str):
        shape = shapes(form)
        if shape is None:
            raise ValueError(f"its field shape {form!r} is missing")
        defaults = shape.defaults
        values = iter(rest)
        count = len(shape.names) - len(defaults)
        if len(rest) < count:
            raise ValueError("fewer values than its shape has fields")
        data = {"id": id}
        for name in shape.names:
            data[name] = defaults[name] if name in defaults else unpack_value(next(values))
        rest = rest[count:]
    else:
        raise ValueError("not a document entry")
    if len(rest) > 1 or (rest and not isinstance(rest[0], dict)):
        raise ValueError("not a document entry")
    extras = rest[0] if rest else {}
    deleted = bool(extras.get("d"))
    if not deleted and data is None:
        raise ValueError("not a document entry")
    history = tuple(unpack_rev(r)[0] for r in extras.get("h", ()))
    if extras.get("s"):
        synced = True
    if synced:
        base_rev, base_data = rev, data
    elif "b" in extras:
        base = extras["b"]
        base_rev = history[base] if type(base) is int else unpack_rev(base)[0]
        if "bb" in extras:
            base_data = extras["bb"]
        else:
            diff, gone = extras.get("bd", {}), extras.get("bg", [])
            if not isinstance(diff, dict) or not isinstance(gone, list) \
                    or not isinstance(data, dict):
                raise ValueError("not a document entry")
            base_data = {k: v for k, v in data.items() if k not in gone}
            base_data.update({k: unpack_value(v) for k, v in diff.items()})
    else:
        base_rev, base_data = None, None
    owner = extras["o"] if "o" in extras else owner_of(model, data)
    unacked = extras.get("u", [])
    if not isinstance(unacked, list) or (unacked and not isinstance(data, dict)):
        raise ValueError("not a document entry")
    kind = extras.get("t") or (
        "delete" if deleted else "update" if history else "create")
    return Document(
        model=model, id=id, rev=rev, checkpoint=entry[1], deleted=deleted,
        data=None if deleted else data, type=ChangeType(kind), history=history,
        base_rev=base_rev, base_data=base_data, owner=owner,
        unacked=tuple(_undelta(item, data) for item in unacked),
    )


EXTRA_NAMES = {"t": "type", "h": "history", "d": "deleted", "o": "owner", "b": "base_rev",
               "bd": "base_diff", "bg": "base_gone", "bb": "base_data", "s": "synced",
               "u": "unacked"}


def readable(raw: str, shapes: Callable[[str], FieldShape | None]) -> dict:
    """What an entry holds, spelled out (for the debug page and tests): the same fields, with
    revisions, ids and values unpacked and the body in full. Raises ValueError when `raw` is no
    entry."""
    if not raw.startswith("["):
        found = json.loads(raw)
        if not isinstance(found, dict):
            raise ValueError("not a document entry")
        return found
    entry = json.loads(raw)
    if not isinstance(entry, list) or len(entry) < 3:
        raise ValueError("not a document entry")
    rev, synced = unpack_rev(entry[0])
    out: dict = {"rev": rev, "checkpoint": entry[1]}
    form, rest = entry[2], entry[3:]
    if isinstance(form, str):
        shape = shapes(form)
        if shape is None:
            raise ValueError(f"its field shape {form!r} is missing")
        out["shape"] = form
        values = iter(rest)
        out["data"] = {name: shape.defaults[name] if name in shape.defaults
                       else unpack_value(next(values)) for name in shape.names}
        rest = rest[len(shape.names) - len(shape.defaults):]
    else:
        out["data"] = None if form is None else {k: unpack_value(v) for k, v in form.items()}
    for key, value in (rest[0] if rest else {}).items():
        if key in ("h",):
            value = [unpack_rev(r)[0] for r in value]
        elif key == "b":
            value = (unpack_rev(rest[0]["h"][value])[0] if type(value) is int
                     else unpack_rev(value)[0])
        elif key == "bd":
            value = {k: unpack_value(v) for k, v in value.items()}
        elif key == "u":
            value = [[unpack_rev(item[0])[0], {k: unpack_value(v) for k, v in item[1].items()},
                      *item[2:]] for item in value]
        out[EXTRA_NAMES.get(key, key)] = value
    if synced:
        out["synced"] = True
    return out
