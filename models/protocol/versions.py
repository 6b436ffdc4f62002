"""The model version a sync message names (docs/PROTOCOL.md, "Model versions").

The version travels once per message, not per doc, since every doc of a message is of one
model and the sender holds its documents under one version: a push body's `"version"`, a pull's
`?version=` (conflicts' too), and the answer of a pull names the server's. Absent is version 1,
which is what every client and server written before versions existed speaks.

The server migrates a push from an older version on arrival; it refuses a pull from an older
version (`UpdateRequiredError`, 409 UPDATE_REQUIRED) rather than send fields that code would
drop, and any request from a newer version than its own (`VersionAheadError`, 409
VERSION_AHEAD).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidBodyError, UpdateRequiredError, VersionAheadError
from ..limits import parse_ascii_int

MAX_MODEL_VERSION = 1 << 31


def read_version(raw: Any) -> int:
    """A message's model version: an integer from 1 (absent: 1), as JSON or query text."""
    if raw is None:
        return 1
    value = parse_ascii_int(raw) if isinstance(raw, str) else raw
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MODEL_VERSION:
        raise InvalidBodyError(f"version must be a positive integer, not {raw!r}",
                               {"version": ["must be a positive integer"]})
    return value


def _details(model: Any, client: int) -> dict[str, Any]:
    return {"model": model.__name__, "collection": model.collection,
            "client_version": client, "server_version": model.version}


def check_not_ahead(model: Any, client: int) -> None:
    """Refuse a message from a client on a newer version than this server's model."""
    if client > model.version:
        raise VersionAheadError(
            f"this server runs {model.__name__} version {model.version}, older than the "
            f"client's version {client}: nothing was written; try again once the server is "
            "updated", _details(model, client))


def check_pull_version(model: Any, client: int) -> None:
    """Refuse a read by a client whose model is older than the server's: it must reload."""
    check_not_ahead(model, client)
    if client < model.version:
        raise UpdateRequiredError(
            f"this server runs {model.__name__} version {model.version} and the client version "
            f"{client}: reload to update (the client's unsynced changes are still pushed)",
            _details(model, client))


__all__ = ["MAX_MODEL_VERSION", "check_not_ahead", "check_pull_version", "read_version"]
