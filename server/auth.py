"""Accounts over HTTP: the JSON endpoints under `/api/auth/`, and the log-in and registration
logic they share with the `/login` and `/register` pages (`server/auth_pages.py`).

    POST /api/auth/register  {"username", "password"}  201 {"user", "csrf"}, logged in
    POST /api/auth/login     {"username", "password"}  200 {"user", "csrf"}
    POST /api/auth/logout                              204, session deleted, cookies cleared
                                                       (403 from another site, see csrf.py)
    GET  /api/auth/session                             200 {"user", "csrf"} or 401

A failed log-in says "wrong username or password" whatever was wrong, takes as long for an
unknown user as for a wrong password, and counts towards the rate limit (`server/ratelimit.py`).
Registrations are rate limited per client address.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from models.errors import OffsyncError, ValidationError

from . import accounts, csrf, live, sessions
from .accounts import Accounts, User
from .body import read_json_object
from .ratelimit import RateLimiter, login_key
from .state import store_of

MAX_AUTH_BODY_BYTES = 16 * 1024


class InvalidCredentialsError(OffsyncError):
    status = 401
    code = "INVALID_CREDENTIALS"


# ---- the logic both the API and the pages use ------------------------------------------------

def _accounts(request: Request) -> Accounts:
    store_of(request)  # 503 before the lifespan opened the database
    return request.app.state.accounts


def _client(request: Request) -> str:
    """The peer address. Behind a reverse proxy this is the proxy, unless the server runs with
    `offsync serve --forwarded-allow-ips <the proxy's address>` (then X-Forwarded-For from that
    proxy names the client); from anyone else the header is ignored."""
    return request.client.host if request.client else "unknown"


async def register(request: Request, username: Any, password: Any) -> User:
    csrf.check_origin(request)
    name, secret = accounts.check_credentials(username, password, new=True)
    table = _accounts(request)
    limiter: RateLimiter = request.app.state.register_limiter
    await limiter.take(_client(request))  # a taken username counts too: it answers a question
    if await table.exists(name):
        raise ValidationError("User", {"username": ["is already taken"]})
    hashed = await run_in_threadpool(accounts.hash_password, secret)
    return await table.create(name, hashed)


async def log_in(request: Request, username: Any, password: Any) -> User:
    csrf.check_origin(request)
    name, secret = accounts.check_credentials(username, password, new=False)
    table = _accounts(request)
    limiter: RateLimiter = request.app.state.login_limiter
    key = login_key(name, _client(request))
    await limiter.take(key)  # counted as failed until the password proves right
    found = await table.password_hash(name)
    stored = found[1] if found else accounts.DUMMY_HASH
    ok = await run_in_threadpool(accounts.verify_password, secret, stored)
    if not (ok and found):
        raise InvalidCredentialsError("wrong username or password")
    await limiter.clear(key)
    return found[0]


async def start_session(request: Request, user: User) -> tuple[str, sessions.Session]:
    """A new session for `user` (the request's old one, if any, ends): its cookie token and it."""
    table: sessions.Sessions = request.app.state.sessions
    old = sessions.current_session(request)
    if old is not None:
        await table.delete(old)
    return await table.create(user.id)


def with_cookies(request: Request, response: Response, token: str,
                 session: sessions.Session) -> Response:
    sessions.set_cookies(response, token, session, request.app.state.sessions.ttl,
                         sessions.is_secure(request))
    return response


def session_body(user: User, session: sessions.Session) -> dict[str, Any]:
    return {"user": user.to_dict(), "csrf": session.csrf}


# ---- JSON endpoints ---------------------------------------------------------------------------

async def api_register(request: Request) -> Response:
    body = await read_json_object(request, MAX_AUTH_BODY_BYTES)
    user = await register(request, body.get("username"), body.get("password"))
    token, session = await start_session(request, user)
    return with_cookies(request, JSONResponse(session_body(user, session), status_code=201),
                        token, session)


async def api_login(request: Request) -> Response:
    body = await read_json_object(request, MAX_AUTH_BODY_BYTES)
    user = await log_in(request, body.get("username"), body.get("password"))
    token, session = await start_session(request, user)
    return with_cookies(request, JSONResponse(session_body(user, session)), token, session)


async def api_logout(request: Request) -> Response:
    # CSRFMiddleware asked a live session for its token; this refuses another site's page even
    # when there is no live session (it could still make the browser clear the cookies)
    csrf.check_origin(request)
    session = sessions.current_session(request)
    if session is not None and getattr(request.app.state, "sessions", None) is not None:
        await request.app.state.sessions.delete(session)
        await live.session_ended(request, session.token_hash)
    response = Response(status_code=204)
    sessions.clear_cookies(response, sessions.is_secure(request))
    return response


async def api_session(request: Request) -> JSONResponse:
    table = _accounts(request)
    user_id = sessions.require_user(request)
    user = await table.get(user_id)
    session = sessions.current_session(request)
    if user is None or session is None:  # the account is gone
        raise sessions.NotAuthenticatedError("this session's user no longer exists: log in")
    return JSONResponse(session_body(user, session), headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/auth/register", api_register, methods=["POST"], name="auth.register"),
        Route("/api/auth/login", api_login, methods=["POST"], name="auth.login"),
        Route("/api/auth/logout", api_logout, methods=["POST"], name="auth.logout"),
        Route("/api/auth/session", api_session, methods=["GET"], name="auth.session"),
    ]
