"""Whose a document is: the key its owner column holds, which feeds and access rules go by.

By default a document belongs to the user in its `owner` field. A model whose documents belong
to something else names that field in `owned_by`: a todo belongs to its list (`owned_by =
"list_id"`), a list to itself (`owned_by = "id"`). The stores, the wire and the merge derive a
document's owner the same way, through `owner_of`, from the body; a tombstone keeps the owner
its document had, so a feed by owner (an index on the owner column) still carries the delete.
"""

from __future__ import annotations

DEFAULT_FIELD = "owner"
OWNED_BY: dict[str, str] = {}  # collection -> the field naming its documents' owner


def register(collection: str, field: str) -> None:
    """What a model declaring `owned_by` calls when its class is made."""
    OWNED_BY[collection] = field


def owner_of(collection: str, data: dict | None, fallback: str | None = None) -> str | None:
    """The owner of a document of `collection` with body `data` (None, a tombstone: `fallback`,
    the owner it had). A body written before its model declared `owned_by` (no such field yet)
    still belongs to the user in `owner`."""
    if data is None:
        return fallback
    value = data.get(OWNED_BY.get(collection, DEFAULT_FIELD))
    if value is None:
        value = data.get(DEFAULT_FIELD)
    return value if isinstance(value, str) else None


__all__ = ["OWNED_BY", "owner_of", "register"]
