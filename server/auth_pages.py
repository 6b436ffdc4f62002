"""The `/login` and `/register` pages: plain HTML forms, no JavaScript, for people.

    GET  /login, /register     the forms (both from web/templates/auth_form.html)
    POST /login, /register     form-urlencoded; 303 to / with the cookies, or the form again

The pages live in `web/templates/` with the other pages; the server fills in only the error
message and the username typed, both HTML-escaped, so nothing a user sends becomes markup. The
templates are the repository's whatever `web_dir` the app serves (like the models archive).
They log in and register through `server/auth.py`, exactly as the JSON endpoints do.
"""

from __future__ import annotations

import functools
import html
from string import Template
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from models.errors import NotFoundError, OffsyncError, ValidationError

from . import accounts
from .auth import MAX_AUTH_BODY_BYTES, log_in, register, start_session, with_cookies
from .body import read_body
from .errors import UnsupportedMediaTypeError
from .static import WEB_DIR

TEMPLATES_DIR = WEB_DIR / "templates"

# What tells the two forms apart; the rest of the page is one template.
WORDING = {
    "login": {
        "title": "Log in", "tagline": "Log in to see and sync your todos",
        "password_autocomplete": "current-password", "hint": "", "submit": "Log in",
        "other": "register", "switch_question": "No account yet?", "switch_action": "Create one",
    },
    "register": {
        "title": "Create an account",
        "tagline": "An account keeps your todos yours, on every device",
        "password_autocomplete": "new-password",
        "hint": '<p class="hint">3-40 letters, digits, ".", "_" or "-"; a password of at least '
                f'{accounts.MIN_PASSWORD} characters.</p>',
        "submit": "Create account",
        "other": "login", "switch_question": "Already have an account?", "switch_action": "Log in",
    },
}
KINDS = tuple(WORDING)


class MalformedFormError(OffsyncError):
    status = 400
    code = "MALFORMED_FORM"


@functools.cache
def template() -> Template:
    return Template((TEMPLATES_DIR / "auth_form.html").read_text(encoding="utf-8"))


def render_form(kind: str, *, error: str = "", username: str = "") -> str:
    """The page of `kind`, showing `error` (if any) and `username`, both escaped."""
    return template().substitute(
        WORDING[kind], kind=kind, error=html.escape(error),
        error_hidden="" if error else " hidden", username=html.escape(username))


def page(kind: str, status: int = 200, *, error: str = "", username: str = "",
         headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(render_form(kind, error=error, username=username), status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def error_text(exc: OffsyncError) -> str:
    """What the form says about `exc`, written for a person."""
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


async def no_template(request: Request) -> Response:
    """The templates are not pages of their own: `/templates/...` is a 404, never raw markup."""
    raise NotFoundError("templates are served filled in, at /login and /register")


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for kind in KINDS:
        show, submit = form_route(kind)
        out += [Route(f"/{kind}", show, methods=["GET"], include_in_schema=False),
                Route(f"/{kind}", submit, methods=["POST"], include_in_schema=False)]
    out.append(Route("/templates/{path:path}", no_template, include_in_schema=False))
    return out
