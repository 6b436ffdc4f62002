"""Moving an app's entries from the earlier Web Storage layout into the compact one, on open.

The earlier layout kept everything under `offsync:<app>:` (`<model>:doc:<id>`, `chg:<n>`, `seq`,
`mark:<name>`, `<model>:conflict:<id>`, entries as JSON objects); `keyvalue.py` describes the
compact one. The move runs when the namespace's record (`namespace.py`) is missing or says
`"moving"`, before anything reads or writes the store, and every step of it can be repeated:
1. the earlier layout's own journal is rolled back (a save it did not finish did not happen);
2. the documents and conflicts go over in pages: each page's new entries (and change keys) are
   written first, then its old keys removed, so a page killed half-way leaves both copies of
   some entries, and the next start moves those again (to the same text) and removes them; a
   page that does not fit goes again one entry at a time (each entry shrinks to about a
   quarter, so a storage with a few hundred characters free has room for the move);
3. marks and the sequence number are copied (the same values every time);
4. the old change keys, sequence and marks are removed, and `mark:version:<model>` is set to
   MOVED, so a tab still running the earlier code sees a newer version and reloads (and the
   earlier code refuses to open the old namespace instead of reading it as empty).
Only then does the record lose `"moving"`. Revisions, checkpoints, merge bases, unacknowledged
bodies and conflicts are carried over as they are; an entry that cannot be read is copied as
it is, so the new namespace reports it like any damaged entry and nothing is dropped. Keys under
the old prefix that are not the store's (the app's own, like `sync:state`) are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..document import Document
from ..errors import StorageFullError
from . import codec
from .keyvalue import KeyValueAdapter

PAGE = 200  # entries per page of the move
MOVED = "999999999"  # the version mark left in the old namespace: "newer than any code"


def legacy_keys(storage: Any, old: str) -> list[str]:
    """Every key of the earlier layout's namespace (one pass over the storage)."""
    found = []
    for i in range(storage.length):
        key = storage.key(i)
        if isinstance(key, str) and key.startswith(old):
            found.append(key)
    return found


def move_legacy(storage: Any, old: str, adapter: KeyValueAdapter, keys: list[str],
                is_full: Callable[[BaseException], bool]) -> int:
    """Move what `keys` (under the old prefix `old`) hold into `adapter`'s namespace; returns
    how many documents and conflicts moved."""

    def get(key: str) -> str | None:
        raw = storage.getItem(key)
        return raw if isinstance(raw, str) else None

    entries: list[tuple[str, str, str, bool]] = []  # old key, model, id, is a conflict
    marks: dict[str, str] = {}
    leftovers: list[str] = []
    for key in keys:
        rest = key[len(old):]
        model, sep, id = rest.partition(":doc:")
        if sep and model and id:
            entries.append((key, model, id, False))
            continue
        model, sep, id = rest.partition(":conflict:")
        if sep and model and id:
            entries.append((key, model, id, True))
        elif rest.startswith("mark:"):
            marks[rest[len("mark:"):]] = key
        elif rest.endswith(":horizon") and ":" not in rest[:-len(":horizon")]:
            marks["horizon:" + rest[:-len(":horizon")]] = key  # where older versions kept it
        elif rest.startswith("chg:") or rest == "seq":
            leftovers.append(key)
        elif rest == "journal":  # one that could not be rolled back: reported in the new place
            marks[""] = key
    # 2. documents and conflicts, page by page (one by one when a page does not fit)
    moved, size, start = 0, PAGE, 0
    while start < len(entries):
        page = entries[start:start + size]
        try:
            moved += _move_page(storage, old, adapter, page, get, is_full)
        except StorageFullError:
            if size == 1:
                raise
            size = 1  # what the page wrote is rewritten, to the same text, one by one
            continue
        start += len(page)
    # 3. marks and the sequence number (after the documents, which make room)
    steps: list[tuple[str, str]] = []
    for name, key in marks.items():
        raw = get(key)
        if raw is None or (name.startswith("version:") and raw == MOVED):
            continue
        steps.append((adapter.prefix + "journal" if name == "" else adapter.mark_key(name), raw))
    seq = get(old + "seq")
    if seq is not None and seq.isdigit():
        current = adapter.read(adapter.seq_key)
        steps.append((adapter.seq_key, str(max(int(seq), int(current) if current
                                               and current.isdigit() else 0))))
    _write(storage, steps, [], is_full)
    # 4. what the old namespace still holds of the store
    models = {model for _, model, _, _ in entries} | {
        name[len("version:"):] for name in marks if name.startswith("version:")}
    _write(storage, [(f"{old}mark:version:{model}", MOVED) for model in sorted(models)],
           [*leftovers, *(key for name, key in marks.items()
                          if not (name.startswith("version:") and name[8:] in models))],
           is_full)
    return moved


def _move_page(storage: Any, old: str, adapter: KeyValueAdapter,
               page: list[tuple[str, str, str, bool]], get: Callable[[str], str | None],
               is_full: Callable[[BaseException], bool]) -> int:
    """Write the page's new entries and change keys, then remove its old keys. The old change
    keys go first: the move reads documents, not them, so their room is free for the new."""
    sets: list[tuple[str, str]] = []
    removes: list[str] = []
    pointers: list[str] = []
    for key, model, id, is_conflict in page:
        raw = get(key)
        if raw is None:
            continue
        try:
            doc: Document | None = codec.decode(model, id, raw)
        except (ValueError, KeyError, TypeError):
            doc = None
        new_key = adapter.conflict_key(model, id) if is_conflict else adapter.doc_key(model, id)
        if doc is None:
            sets.append((new_key, raw))  # damaged: carried as it is, reported there
        else:
            sets += [(k, v or "") for k, v in adapter.entry_steps(
                doc, "conflict" if is_conflict else "doc")]
            if not is_conflict:
                sets.append((adapter.change_key(doc.checkpoint), adapter.pointer(model, id)))
                pointers.append(f"{old}chg:{doc.checkpoint}")
        removes.append(key)
    for key in pointers:
        storage.removeItem(key)
    _write(storage, sets, removes, is_full)
    return len(removes)


def _write(storage: Any, sets: list[tuple[str, str]], removes: list[str],
           is_full: Callable[[BaseException], bool]) -> None:
    """Set, then remove. A refusal (quota) stops the move with nothing lost: every old key is
    still there, and the next start carries on."""
    try:
        for key, value in sets:
            storage.setItem(key, value)
    except Exception as exc:
        if is_full(exc):
            raise StorageFullError(
                "local storage is full: the saved data could not be moved to the compact "
                "layout; nothing was lost, and the next start tries again") from None
        raise
    for key in removes:
        storage.removeItem(key)


__all__ = ["MOVED", "PAGE", "legacy_keys", "move_legacy"]
