"""Cross-site request forgery: a cookie alone never changes anything.

Two schemes, for two kinds of requests:

- **API writes** (POST/PUT/PATCH/DELETE under `/api/`) that arrive with a session cookie must
  carry `X-CSRF-Token` equal to their session's CSRF token (the double-submit pattern: the page
  reads it from the `offsync_csrf` cookie, which another site can neither read nor make the
  browser send as a header). Otherwise 403 CSRF_FAILED and the route never runs. Requests with no
  session cookie rely on nothing a browser sends on its own, so they are left to the routes (which
  answer 401 where a user is needed). A cookie naming an unknown or expired session is not a
  session: the route answers 401.
- **Log-in and registration** (`/login`, `/register` forms and their `/api/auth/*` twins) create a
  session, so they cannot require one. They refuse requests whose `Origin` (or, without one,
  `Referer`) names another host: browsers send `Origin` on every cross-site POST, so a forged
  form post (log-in CSRF: signing the victim into the attacker's account) is refused with 403.
  Without either header the request cannot come from another site's page (non-browser clients,
  scripts) and is allowed.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from models.errors import OffsyncError

from .errors import error_response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "x-csrf-token"
# They create the session: checked by origin (below), not by token.
EXEMPT = frozenset({"/api/auth/login", "/api/auth/register"})


class CSRFFailedError(OffsyncError):
    status = 403
    code = "CSRF_FAILED"


def token_ok(request: Request) -> bool:
    """Whether an API write may proceed (see the module doc)."""
    session = getattr(request.state, "session", None)
    if session is None:
        return True
    sent = request.headers.get(HEADER, "")
    return bool(sent) and hmac.compare_digest(sent.encode("utf-8"), session.csrf.encode("utf-8"))


def same_origin(request: Request) -> bool:
    """Whether `Origin` (or `Referer`) names this server's host, or is absent."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return True
    if claimed == "null":
        return False  # an opaque origin (sandboxed frame, data: page): never ours
    host = request.headers.get("host", "")
    return urlsplit(claimed).netloc.lower() == host.lower()


def check_origin(request: Request) -> None:
    if not same_origin(request):
        raise CSRFFailedError(
            "cross-site request refused: log in from this site's own pages",
            {"origin": request.headers.get("origin") or request.headers.get("referer")},
        )


class CSRFMiddleware:
    """Refuses API writes that carry a session cookie but not its CSRF token. Runs after
    `SessionMiddleware`, which found the session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in UNSAFE_METHODS
            and scope["path"].startswith("/api/")
            and scope["path"] not in EXEMPT
        ):
            request = Request(scope)
            if not token_ok(request):
                response = error_response(
                    403, CSRFFailedError.code,
                    "missing or wrong X-CSRF-Token header: send the value of the offsync_csrf "
                    "cookie (or the csrf of GET /api/auth/session) with every write",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
