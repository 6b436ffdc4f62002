"""The OpenAPI description of `server/people.py`: a username to its id, and the usernames of
those who share a list with the caller."""

from __future__ import annotations

from typing import Any

from .. import accounts
from .common import errors, json_response, param

_USER = {"type": "object", "required": ["id", "username"],
         "properties": {"id": {"type": "string"}, "username": {"type": "string"}}}


def paths() -> dict[str, Any]:
    tags = ["users"]
    return {
        "/api/users/lookup": {"get": {
            "summary": "The user called USERNAME (any case), to share a list with them",
            "description": "404 USER_NOT_FOUND for a name no account has, 400 INVALID_USERNAME "
                           "for what no username can be; past 120 look-ups per user per hour, "
                           "429 TOO_MANY_ATTEMPTS with Retry-After.",
            "operationId": "users.lookup", "tags": tags,
            "parameters": [param("username", "query", "A username",
                                 {"type": "string", "pattern": accounts.USERNAME.pattern},
                                 required=True, example="ada")],
            "responses": {"200": json_response({"type": "object", "properties": {
                "user": _USER}}, "The user"), **errors("400", "404", "429")},
        }},
        "/api/users/shared": {"get": {
            "summary": "The caller and everyone who shares a list with them, by username",
            "operationId": "users.shared", "tags": tags,
            "responses": {"200": json_response({"type": "object", "properties": {
                "users": {"type": "array", "items": _USER}}}, "The people")},
        }},
    }
