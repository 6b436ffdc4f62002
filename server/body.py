"""Reading a request body as one JSON object, refusing oversized bodies while they stream in.

The limit is checked against `Content-Length` before reading and against the bytes received
while reading, so a chunked body that never declares its length is refused all the same.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .errors import (
    InvalidBodyError,
    InvalidParameterError,
    MalformedJSONError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)

DEFAULT_MAX_BODY_BYTES = 1_048_576


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"request body is larger than {limit} bytes", {"max_bytes": limit}
    )


def _check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return  # curl -d without -H, scripts: there is no other way to read it than as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"send the document as JSON with 'Content-Type: application/json', not {media!r}",
            {"content_type": media},
        )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise InvalidParameterError(f"Content-Length is not a number: {declared!r}") from None
        if length > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a dict, or an error that says what to send instead."""
    _check_content_type(request)
    raw = await read_body(request, limit)
    if not raw.strip():
        raise MalformedJSONError("the request body is empty; send a JSON object")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedJSONError(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(data), "a number"
        )
        raise InvalidBodyError(
            f"the request body must be a JSON object, not {kind}",
            {"body": [f"must be a JSON object, not {kind}"]},
        )
    return data
