"""What goes wrong in the sync protocol, on either side.

The server raises the first three when a request is not the protocol (nothing is written, the
body names what is wrong); `RemoteStore` raises `ProtocolError` when the server refused a
request that way, and `TransportError` when an answer is not the protocol.
"""

from __future__ import annotations

from typing import Any

from ..errors import OffsyncError, TransportError
from .limits import PROTOCOL_VERSION


class ProtocolMismatchError(OffsyncError):
    """The request names another protocol version (or none): nothing was read or written."""

    status = 400
    code = "PROTOCOL_MISMATCH"


class InvalidDocError(OffsyncError):
    """One document of a batch is not a protocol doc; the whole batch was refused."""

    status = 400
    code = "INVALID_DOC"


class InvalidChangeError(OffsyncError):
    """One change sent to `diff` is not a `Change`."""

    status = 400
    code = "INVALID_CHANGE"


class ProtocolError(TransportError):
    """The server refused a sync request as not its protocol (PROTOCOL_MISMATCH, INVALID_DOC,
    PAYLOAD_TOO_LARGE...): `code` and `status` are the server's. A client bug, not a retry case."""


def check_protocol(value: Any) -> None:
    """Refuse a request that names another protocol version than this one (or none)."""
    if value == PROTOCOL_VERSION and not isinstance(value, bool):
        return
    got = "no protocol" if value is None else f"protocol {value!r}"
    raise ProtocolMismatchError(
        f"this server speaks sync protocol {PROTOCOL_VERSION}, the request names {got}: "
        f'send "protocol": {PROTOCOL_VERSION} (update the client if it is older)',
        {"supported": [PROTOCOL_VERSION], "got": value},
    )


def check_answer_protocol(body: Any, where: str, *keys: str) -> dict:
    """`body` if it is a sync answer holding `keys` in this protocol version; TransportError
    naming `where` (the request) otherwise."""
    if not isinstance(body, dict) or any(key not in body for key in keys):
        raise TransportError(f"{where}: the answer is not a sync response")
    if body.get("protocol") != PROTOCOL_VERSION:
        raise TransportError(
            f"{where}: the server speaks sync protocol {body.get('protocol')!r}, "
            f"this client {PROTOCOL_VERSION}"
        )
    return body


__all__ = ["InvalidChangeError", "InvalidDocError", "ProtocolError", "ProtocolMismatchError",
           "check_answer_protocol", "check_protocol"]
