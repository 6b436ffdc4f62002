"""The OpenAPI description of `server/auth.py`: the JSON endpoints under `/api/auth/` (the
`/login` and `/register` pages are for people and stay out of it)."""

from __future__ import annotations

from typing import Any

from .. import accounts
from .common import errors, json_response, ref

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


def paths() -> dict[str, Any]:
    def json_ok(description: str) -> dict[str, Any]:
        return json_response(ref("Session"), description)

    body = {"required": True, "content": {"application/json": {
        "schema": ref("Credentials"),
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
