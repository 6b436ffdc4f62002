"""Cross-site request forgery: a cookie alone never changes anything.

Two schemes, for two kinds of requests:

- **API writes** (POST/PUT/PATCH/DELETE under `/api/`) that arrive with a session cookie must
  carry `X-CSRF-Token` equal to their session's CSRF token (the double-submit pattern: the page
  reads it from the `offsync_csrf` cookie, which another site can neither read nor make the
  browser send as a header). Otherwise 403 CSRF_FAILED and the route never runs. Requests with no
  session cookie rely on nothing a browser sends on its own, so they are left to the routes (which
  answer 401 where a user is needed). A cookie naming an unknown or expired session is not a
  session: the route answers 401.
- **Log-in, registration and log-out** (`/login`, `/register` forms and their `/api/auth/*`
  twins, `/api/auth/logout`) also check where the request comes from: log-in and registration
  create a session, so they cannot require one, and a log-out must work for a session that has
  already ended. They refuse requests whose `Origin` (or, without one, `Referer`) names another
  host, is `null`, or is not an http(s) URL at all: browsers send `Origin` on every cross-site
  POST, so a forged form post (log-in CSRF: signing the victim into the attacker's account, or
  logging them out) is refused with 403. Without either header the request cannot come from
  another site's page (non-browser clients, scripts) and is allowed. A live session's log-out
  needs the token as well, like every other API write.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from models.errors import OffsyncError

from .errors import error_response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "x-csrf-token"
# They create the session: checked by origin (below), not by token. (Log-out is checked both
# ways: by token here when it has a live session, and by origin in its route.)
EXEMPT = frozenset({"/api/auth/login", "/api/auth/register"})
# host, or [IPv6], then an optional port: what an Origin's authority looks like (no user info)
AUTHORITY = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
SHOWN_CHARS = 200  # how much of a refused header the error repeats


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


def origin_authority(value: str) -> str | None:
    """`host[:port]` (lower-cased) of an http(s) URL, or None when `value` is not one: `null`,
    an empty value, a bad IPv6 literal (`http://[`), a port past 65535, non-ASCII, user info."""
    if not value.isascii():
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not 0-65535
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not AUTHORITY.fullmatch(parts.netloc):
        return None
    return parts.netloc.lower()


def claimed_origin(request: Request) -> tuple[str, str] | None:
    """(`Origin` or `Referer`, its value): the first of the two the request carries."""
    for name in ("Origin", "Referer"):
        value = request.headers.get(name)
        if value is not None:
            return name, value
    return None


def check_origin(request: Request) -> None:
    """403 CSRF_FAILED unless `Origin` (or `Referer`) names this server's host, or is absent."""
    claimed = claimed_origin(request)
    if claimed is None:
        return
    name, value = claimed
    authority = origin_authority(value.strip())
    details = {"header": name, "origin": value[:SHOWN_CHARS]}
    if authority is None:
        raise CSRFFailedError(
            f"cross-site request refused: the {name} header is not the http(s) URL of a site; "
            "use this site's own pages", details)
    if authority != request.headers.get("host", "").strip().lower():
        raise CSRFFailedError(
            f"cross-site request refused: the {name} header names another site; use this "
            "site's own pages", details)


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
