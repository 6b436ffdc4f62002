"""Reading a request body as one JSON object, refusing oversized bodies while they stream in.

The byte limit is checked against `Content-Length` before reading and against the bytes received
while reading, so a chunked body that never declares its length is refused all the same. The
JSON is then read by `models.strict_json` under two more limits, so that what one request makes
the server hold stays bounded whatever its shape: at most `max_values` values (array items and
object members; 10,000 for one document) and `MAX_DEPTH` levels of nesting, both measured before
anything is parsed. Lone surrogates, numbers past 64 bits or overflowing to infinity, and text
that is not UTF-8 are refused too (`models/limits.py` says why).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from models import strict_json
from models.errors import InvalidBodyError, PayloadTooLargeError
from models.limits import parse_ascii_int, printable

from .errors import InvalidParameterError, MalformedJSONError, UnsupportedMediaTypeError

DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_MAX_VALUES = 10_000  # one document is a few dozen
MAX_DEPTH = 32  # a document nests 2 levels, a sync batch 4


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


async def read_body(request: Request, limit: int) -> bytearray:
    declared = request.headers.get("content-length")
    if declared is not None:
        length = parse_ascii_int(declared.strip())
        if length is None or length < 0:
            raise InvalidParameterError(
                f"Content-Length is not a number of bytes: {printable(declared, 40)}")
        if length > limit:
            raise _too_large(limit)
    body = bytearray()  # grows in place: no second copy of a large body
    async for chunk in request.stream():
        if len(body) + len(chunk) > limit:
            raise _too_large(limit)
        body += chunk
    return body


def _json_error(exc: strict_json.JSONLimitError) -> Exception:
    if exc.kind == strict_json.SYNTAX:
        return MalformedJSONError(exc.message, exc.details)
    if exc.kind == strict_json.TOO_MANY:
        return PayloadTooLargeError(exc.message, exc.details)
    return InvalidBodyError(exc.message, {"body": [exc.message], **exc.details})


async def read_json_object(
    request: Request, limit: int, *, max_values: int = DEFAULT_MAX_VALUES
) -> dict[str, Any]:
    """The body as a dict, or an error that says what to send instead."""
    _check_content_type(request)
    raw = await read_body(request, limit)
    if not raw.strip():
        raise MalformedJSONError("the request body is empty; send a JSON object")
    what = "the request body"
    try:
        text = strict_json.checked_text(raw, max_depth=MAX_DEPTH, max_values=max_values,
                                        what=what)
        del raw  # the bytes go before the objects are built
        data = strict_json.parse(text, max_depth=MAX_DEPTH, what=what)
    except strict_json.JSONLimitError as exc:
        raise _json_error(exc) from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(data), "a number"
        )
        raise InvalidBodyError(
            f"the request body must be a JSON object, not {kind}",
            {"body": [f"must be a JSON object, not {kind}"]},
        )
    return data
