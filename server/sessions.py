"""Sessions: who a request comes from, carried by an HttpOnly cookie.

The `offsync_session` cookie holds a random token; the `sessions` table keeps only its sha256, so
a copy of the database opens no session. Each session also has a CSRF token, sent to the page in
the script-readable `offsync_csrf` cookie and expected back in the `X-CSRF-Token` header (see
`server/csrf.py`). Sessions expire `ttl` seconds after log-in (no sliding renewal); an expired
one answers 401 SESSION_EXPIRED, a missing or unknown one 401 NOT_AUTHENTICATED.

`SessionMiddleware` looks the cookie up once per request and leaves the result in
`request.state` (`user_id`, `session`, `auth_problem`); routes that need a user call
`require_user(request)`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from models.errors import AuthenticationError

from .database import Database

SESSION_COOKIE = "offsync_session"
CSRF_COOKIE = "offsync_csrf"
DEFAULT_TTL_SECONDS = 14 * 24 * 3600
EXPIRED_KEPT_SECONDS = 7 * 24 * 3600  # an expired session still says "expired" for a week

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at)
"""


class NotAuthenticatedError(AuthenticationError):
    status = 401
    code = "NOT_AUTHENTICATED"


class SessionExpiredError(AuthenticationError):
    status = 401
    code = "SESSION_EXPIRED"


@dataclass(frozen=True)
class Session:
    token_hash: str
    user_id: str
    csrf: str
    expires_at: float


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    """The sessions table, in the documents' database (every server process sees them)."""

    def __init__(self, db: Database, ttl: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock

    async def create_schema(self) -> None:
        real = "REAL" if self.db.dialect == "sqlite" else "DOUBLE PRECISION"
        await self.db.script(SCHEMA.format(real=real))

    async def create(self, user_id: str) -> tuple[str, Session]:
        """A new session: the token for the cookie (never stored) and the session."""
        now = self.clock()
        await self.db.execute("DELETE FROM sessions WHERE expires_at < ?",
                              (now - EXPIRED_KEPT_SECONDS,))
        token = secrets.token_urlsafe(32)
        session = Session(token_hash(token), user_id, secrets.token_urlsafe(32), now + self.ttl)
        await self.db.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
            (session.token_hash, session.user_id, session.csrf, session.expires_at),
        )
        return token, session

    async def lookup(self, token: str) -> Session | None:
        row = await self.db.fetchone(
            "SELECT token_hash, user_id, csrf, expires_at FROM sessions WHERE token_hash = ?",
            (token_hash(token),),
        )
        return None if row is None else Session(row[0], row[1], row[2], row[3])

    def is_expired(self, session: Session) -> bool:
        return session.expires_at <= self.clock()

    async def delete(self, session: Session) -> None:
        await self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (session.token_hash,))


# ---- cookies ----------------------------------------------------------------------------------

def set_cookies(response: Response, token: str, session: Session, ttl: float,
                secure: bool) -> None:
    """The session cookie (HttpOnly, Lax) and the CSRF cookie (readable by the page, Strict)."""
    max_age = max(0, int(ttl))
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True,
                        samesite="lax", secure=secure)
    response.set_cookie(CSRF_COOKIE, session.csrf, max_age=max_age, path="/", httponly=False,
                        samesite="strict", secure=secure)


def clear_cookies(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure)
    response.delete_cookie(CSRF_COOKIE, path="/", httponly=False, samesite="strict",
                           secure=secure)


def is_secure(request: Request) -> bool:
    """Cookies get `Secure` when the request came over HTTPS (a plain-HTTP dev server would
    otherwise never get them back)."""
    return request.url.scheme == "https"


# ---- per request ------------------------------------------------------------------------------

def _cookie_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            token = cookie_parser(value.decode("latin-1")).get(SESSION_COOKIE)
            if token:
                return token
    return None


class SessionMiddleware:
    """Puts `user_id`, `session` and `auth_problem` (None, "NOT_AUTHENTICATED" or
    "SESSION_EXPIRED") into `request.state`, and `has_session_cookie`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            token = _cookie_token(scope)
            sessions: Sessions | None = getattr(scope["app"].state, "sessions", None)
            state.update(user_id=None, session=None, auth_problem="NOT_AUTHENTICATED",
                         has_session_cookie=token is not None)
            if token is not None and sessions is not None:
                session = await sessions.lookup(token)
                if session is not None and sessions.is_expired(session):
                    state["auth_problem"] = "SESSION_EXPIRED"
                elif session is not None:
                    state.update(user_id=session.user_id, session=session, auth_problem=None)
        await self.app(scope, receive, send)


def current_session(request: Request) -> Session | None:
    return getattr(request.state, "session", None)


def require_user(request: Request) -> str:
    """The signed-in user's id, or 401 (NOT_AUTHENTICATED / SESSION_EXPIRED)."""
    user_id = getattr(request.state, "user_id", None)
    if user_id:
        return user_id
    if getattr(request.state, "auth_problem", None) == "SESSION_EXPIRED":
        raise SessionExpiredError("your session has expired: log in again")
    raise NotAuthenticatedError("log in first: this needs a session (POST /api/auth/login)")
