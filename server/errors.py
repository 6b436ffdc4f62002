"""How anything that goes wrong becomes `{"error": {"status", "code", "message", "details"}}`.

Errors of `models` already carry their status and code (among them a body past a limit or not
the object it must be, which the sync protocol raises too); the few that only HTTP can produce
(a body that is not JSON, an unknown collection) are declared here in the same family, so one
handler renders them all and `RemoteStore` turns them back into exceptions on the other side.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Route

from models.errors import OffsyncError

logger = logging.getLogger("offsync.server")


class MalformedJSONError(OffsyncError):
    status = 400
    code = "MALFORMED_JSON"


class InvalidParameterError(OffsyncError):
    """A query parameter or header that cannot be understood (`since`, `limit`, `If-Match`)."""

    status = 400
    code = "INVALID_PARAMETER"


class ModelNotFoundError(OffsyncError):
    status = 404
    code = "MODEL_NOT_FOUND"


class UnsupportedMediaTypeError(OffsyncError):
    """Only JSON bodies are read: a form post from another site can never write a document."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class NotStartedError(OffsyncError):
    """A request reached the app before its lifespan opened the database (or after it closed)."""

    status = 503
    code = "NOT_STARTED"


HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


_UNENCODABLE = re.compile("[\ud800-\udfff]")
MAX_ECHO_CHARS = 1000  # an error quoting the input quotes at most this much of each string
MAX_ECHO_DEPTH = 8


def renderable(value: Any, depth: int = 0) -> Any:
    """`value` made safe to send as JSON whatever input it echoes: lone surrogates become
    U+FFFD, non-finite numbers and unknown types their repr, long strings are cut, deep or
    long structures summarised. The error path must never fail on the input it reports."""
    if isinstance(value, str):
        text = value if len(value) <= MAX_ECHO_CHARS else value[:MAX_ECHO_CHARS] + "…"
        return text if text.isascii() else _UNENCODABLE.sub("\ufffd", text)
    if value is None or isinstance(value, (bool, int)):
        return value if not isinstance(value, int) or abs(value) < 2**63 else repr(value)[:40]
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= MAX_ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        items = list(value.items())
        out = {renderable(str(k)): renderable(v, depth + 1) for k, v in items[:MAX_ECHO_CHARS]}
        if len(items) > MAX_ECHO_CHARS:
            out["…"] = f"{len(items) - MAX_ECHO_CHARS} more"
        return out
    if isinstance(value, (list, tuple)):
        out_list = [renderable(v, depth + 1) for v in value[:MAX_ECHO_CHARS]]
        if len(value) > MAX_ECHO_CHARS:
            out_list.append(f"… {len(value) - MAX_ECHO_CHARS} more")
        return out_list
    return renderable(repr(value))


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"status": status, "code": code, "message": renderable(message),
                      "details": renderable(details or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


async def offsync_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OffsyncError)
    if exc.status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return error_response(exc.status, exc.code, exc.message, exc.details,
                          headers=getattr(exc, "headers", None))


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's `Allow` names only the first
    route's, and we register one route per method)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(dict(request.scope))
            if match is not Match.NONE:
                methods |= route.methods
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 (no route) and 405 (wrong method), in our error format."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message = f"nothing at {request.url.path}"
    elif exc.status_code == 405:
        allowed = allowed_methods(request) or headers.get("Allow") or headers.get("allow") or ""
        if allowed:
            headers["Allow"] = allowed
        message = f"{request.method} is not allowed on {request.url.path}"
        message += f" (allowed: {allowed})" if allowed else ""
    else:
        message = str(exc.detail)
    code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    return error_response(exc.status_code, code, message, headers=headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """An unexpected exception: logged with its traceback here, never sent to the client."""
    logger.error("%s %s crashed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", "internal server error; see the server log")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    OffsyncError: offsync_error,
    HTTPException: http_error,
    Exception: internal_error,
}
