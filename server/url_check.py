"""URLs whose percent-encoded bytes are not UTF-8 are refused before any route runs.

The ASGI server decodes `%ED%A0%80` (an encoded lone surrogate) or `%FF` to U+FFFD, so without
this check `?filter={"where":{"title":"%ED%A0%80"}}` would quietly search for other text and
`/api/todos/%ED%A0%80` name another id. Such a request gets 400 INVALID_PARAMETER instead, in the
usual error body.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from models.limits import text_problem

from .errors import InvalidParameterError, error_response


def url_problem(scope: Scope) -> str | None:
    """What is wrong with the request's path or query string, or None."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    for part, raw in (("path", raw_path), ("query string", scope.get("query_string", b""))):
        if not raw:
            continue
        try:
            decoded = unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError as exc:
            return (f"the {part} is not valid UTF-8 once percent-decoded (byte {exc.start}: "
                    f"{exc.reason}); encode text as UTF-8")
        problem = text_problem(decoded)
        if problem:
            return f"the {part} {problem}"
    problem = text_problem(scope.get("path", ""))
    return f"the path {problem}" if problem else None


class URLCheckMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = url_problem(scope)
            if problem:
                error = InvalidParameterError(problem)
                response = error_response(error.status, error.code, error.message)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
