"""Accounts over HTTP: the JSON endpoints under `/api/auth/` and the `/login` and `/register`
pages (plain HTML forms, no JavaScript).

    POST /api/auth/register  {"username", "password"}  201 {"user", "csrf"}, logged in
    POST /api/auth/login     {"username", "password"}  200 {"user", "csrf"}
    POST /api/auth/logout                              204, session deleted, cookies cleared
                                                       (403 from another site, see csrf.py)
    GET  /api/auth/session                             200 {"user", "csrf"} or 401

    GET  /login, /register     the forms
    POST /login, /register     form-urlencoded; 303 to / with the cookies, or the form again

A failed log-in says "wrong username or password" whatever was wrong, takes as long for an
unknown user as for a wrong password, and counts towards the rate limit (`server/ratelimit.py`).
Registrations are rate limited per client address.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from models.errors import OffsyncError, ValidationError

from . import accounts, csrf, sessions
from .accounts import Accounts, User
from .body import read_body, read_json_object
from .errors import UnsupportedMediaTypeError
from .ratelimit import RateLimiter, login_key
from .rest import store_of

MAX_AUTH_BODY_BYTES = 16 * 1024


class MalformedFormError(OffsyncError):
    status = 400
    code = "MALFORMED_FORM"


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


# ---- pages ------------------------------------------------------------------------------------

PAGE_STYLE = """
.auth { max-width: 400px; }
.auth form { display: grid; gap: .9rem; padding: 1rem 1.5rem 1.25rem; }
.auth label { display: grid; gap: .3rem; font-size: .9rem; color: var(--muted); }
.auth input { font: inherit; font-size: 1rem; padding: .6rem .7rem; border: 1px solid #ccc;
  border-radius: 6px; color: var(--ink); }
.auth input:focus { outline: 2px solid rgba(184,63,69,.3); border-color: var(--accent); }
.auth button[type=submit] { padding: .65rem; border: 0; border-radius: 6px; color: #fff;
  background: var(--accent); font-size: 1rem; }
.auth .error { margin: 0; border-radius: 6px; }
.auth .switch { margin: 0; padding: .9rem 1.5rem 1.2rem; border-top: 1px solid var(--line);
  font-size: .9rem; color: var(--muted); }
.auth .switch a { color: var(--accent); }
.auth .hint { margin: 0; font-size: .8rem; color: var(--muted); }
"""

FORMS = {
    "login": {"title": "Log in", "tagline": "Log in to see and sync your todos",
              "submit": "Log in", "password_autocomplete": "current-password",
              "switch": 'No account yet? <a href="/register" data-testid="register-link">'
                        "Create one</a>", "hint": ""},
    "register": {"title": "Create an account", "tagline": "An account keeps your todos yours, "
                 "on every device", "submit": "Create account",
                 "password_autocomplete": "new-password",
                 "switch": 'Already have an account? <a href="/login" data-testid="login-link">'
                           "Log in</a>",
                 "hint": '<p class="hint">3-40 letters, digits, ".", "_" or "-"; a password of '
                         f"at least {accounts.MIN_PASSWORD} characters.</p>"},
}


def render_form(kind: str, *, error: str = "", username: str = "") -> str:
    form = FORMS[kind]
    e = html.escape
    error_attrs = "" if error else " hidden"
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>offsync · {e(form['title'])}</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/style.css">
  <style>{PAGE_STYLE}</style>
</head>
<body>
  <main class="card auth" data-testid="{kind}-page">
    <header>
      <h1>offsync</h1>
      <p class="tagline">{e(form['tagline'])}</p>
    </header>
    <form method="post" action="/{kind}">
      <p class="error" data-testid="auth-error" role="alert"{error_attrs}>{e(error)}</p>
      <label>Username
        <input name="username" data-testid="{kind}-username" autocomplete="username"
               autocapitalize="none" spellcheck="false" value="{e(username)}">
      </label>
      <label>Password
        <input name="password" type="password" data-testid="{kind}-password"
               autocomplete="{form['password_autocomplete']}">
      </label>
      {form['hint']}
      <button type="submit" data-testid="{kind}-submit">{e(form['submit'])}</button>
    </form>
    <p class="switch">{form['switch']}</p>
  </main>
</body>
</html>
"""


def page(kind: str, status: int = 200, *, error: str = "", username: str = "",
         headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(render_form(kind, error=error, username=username), status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def error_text(exc: OffsyncError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{field.capitalize()} {' and '.join(messages)}."
                         for field, messages in exc.details.items())
    return exc.message[:1].upper() + exc.message[1:] + "."


async def read_form(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise UnsupportedMediaTypeError(
            "send the form as application/x-www-form-urlencoded", {"content_type": media})
    raw = await read_body(request, MAX_AUTH_BODY_BYTES)
    try:  # strict: "%ED%A0%80" (a lone surrogate) must not become another password
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise MalformedFormError(
            "the form is not valid UTF-8 once percent-decoded; send it as a browser does"
        ) from None
    return {name: values[0] for name, values in fields.items() if values}


def form_route(kind: str):
    action = register if kind == "register" else log_in

    async def show(request: Request) -> HTMLResponse:
        return page(kind)

    async def submit(request: Request) -> Response:
        username = ""
        try:
            form = await read_form(request)
            username = form.get("username", "")
            user = await action(request, username, form.get("password", ""))
        except OffsyncError as exc:
            if exc.status >= 500:
                raise
            return page(kind, exc.status, error=error_text(exc), username=username,
                        headers=getattr(exc, "headers", None))
        token, session = await start_session(request, user)
        return with_cookies(request, RedirectResponse("/", status_code=303), token, session)

    return show, submit


def routes() -> list[BaseRoute]:
    login_page, login_submit = form_route("login")
    register_page, register_submit = form_route("register")
    return [
        Route("/api/auth/register", api_register, methods=["POST"], name="auth.register"),
        Route("/api/auth/login", api_login, methods=["POST"], name="auth.login"),
        Route("/api/auth/logout", api_logout, methods=["POST"], name="auth.logout"),
        Route("/api/auth/session", api_session, methods=["GET"], name="auth.session"),
        Route("/login", login_page, methods=["GET"], include_in_schema=False),
        Route("/login", login_submit, methods=["POST"], include_in_schema=False),
        Route("/register", register_page, methods=["GET"], include_in_schema=False),
        Route("/register", register_submit, methods=["POST"], include_in_schema=False),
    ]


# ---- the OpenAPI description (merged into /openapi.json by server/openapi.py) ------------------

_USER = {"type": "object", "properties": {"id": {"type": "string"},
                                          "username": {"type": "string"}}}

SCHEMAS: dict[str, Any] = {
    "Credentials": {"type": "object", "required": ["username", "password"], "properties": {
        "username": {"type": "string", "pattern": accounts.USERNAME.pattern,
                     "description": "3-40 letters, digits, '.', '_' or '-'; unique, any case"},
        "password": {"type": "string", "minLength": accounts.MIN_PASSWORD,
                     "maxLength": accounts.MAX_PASSWORD},
    }},
    "Session": {"type": "object", "properties": {
        "user": _USER,
        "csrf": {"type": "string",
                 "description": "Send it as X-CSRF-Token with every write (also in the "
                                "offsync_csrf cookie)"},
    }},
}


def spec_paths() -> dict[str, Any]:
    def json_ok(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Session"}}}}

    def errors(*statuses: str) -> dict[str, Any]:
        return {s: {"$ref": f"#/components/responses/Error{s}"} for s in statuses}

    body = {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Credentials"},
        "example": {"username": "ada", "password": "correct horse battery"}}}}
    cookies = ("Sets the HttpOnly offsync_session cookie and the offsync_csrf cookie. A request "
               "whose Origin names another site is refused (403 CSRF_FAILED).")
    tags = ["auth"]
    return {
        "/api/auth/register": {"post": {
            "summary": "Create an account and log in",
            "description": cookies + " 422 names each bad field (a taken username too). Too "
                           "many registrations from this address: 429 TOO_MANY_ATTEMPTS with "
                           "Retry-After.",
            "operationId": "auth.register", "tags": tags, "requestBody": body,
            "responses": {"201": json_ok("Registered and logged in"),
                          **errors("400", "403", "415", "422", "429")},
        }},
        "/api/auth/login": {"post": {
            "summary": "Log in",
            "description": cookies + " Wrong username or password: 401 INVALID_CREDENTIALS "
                           "(which one is not said). Too many failures for this username from "
                           "this address: 429 TOO_MANY_ATTEMPTS with Retry-After, even with the "
                           "right password.",
            "operationId": "auth.login", "tags": tags, "requestBody": body,
            "responses": {"200": json_ok("Logged in"),
                          **errors("400", "401", "403", "415", "422", "429")},
        }},
        "/api/auth/logout": {"post": {
            "summary": "Log out: end the session and clear the cookies",
            "description": "Needs X-CSRF-Token like every write made with the session cookie; "
                           "a request whose Origin names another site (or is not a URL) is "
                           "refused (403 CSRF_FAILED) even without a session.",
            "operationId": "auth.logout", "tags": tags,
            "responses": {"204": {"description": "Logged out"}, **errors("403")},
        }},
        "/api/auth/session": {"get": {
            "summary": "Who is logged in, and the CSRF token to send with writes",
            "operationId": "auth.session", "tags": tags,
            "responses": {"200": json_ok("The session's user"), **errors("401")},
        }},
    }
