"""Who is who, for sharing: a username to its user id (to share a list), and the usernames of
the people the caller shares a list with (to show a list's members).

Lists (any group model) name their members by user id; people share by username. Neither
answer lists the users of the server:

    GET /api/users/lookup?username=<name>  200 {"user": {"id", "username"}}, 404 USER_NOT_FOUND,
                                           400 INVALID_USERNAME, 429 past the look-up limit
    GET /api/users/shared                  200 {"users": [{"id", "username"}, ...]}: the owners
                                           and members of the lists the caller may read

A look-up tells whether a username exists, as registration already does; it is counted per
signed-in user in a sliding window (`server/ratelimit.py`), so a script cannot walk the names.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from models.errors import OffsyncError
from models.memberships import memberships_in

from .accounts import USERNAME
from .sessions import require_user
from .sharing import is_group
from .state import store_of

LOOKUP_ATTEMPTS = 120  # look-ups per user per window: a person shares a few lists a day
LOOKUP_WINDOW_SECONDS = 3600
NO_STORE = {"Cache-Control": "no-store"}


class UserNotFoundError(OffsyncError):
    status = 404
    code = "USER_NOT_FOUND"


class InvalidUsernameError(OffsyncError):
    status = 400
    code = "INVALID_USERNAME"


async def lookup(request: Request) -> JSONResponse:
    user_id = require_user(request)
    raw = request.query_params.get("username")
    name = raw.strip() if isinstance(raw, str) else ""
    if not USERNAME.fullmatch(name):
        raise InvalidUsernameError("username must be 3-40 letters, digits, '.', '_' or '-'",
                                   {"username": name[:40]})
    store_of(request)  # 503 before the lifespan opened the database
    await request.app.state.lookup_limiter.take(user_id)
    found = await request.app.state.accounts.password_hash(name)
    if found is None:
        raise UserNotFoundError(f"no user is called {name!r}", {"username": name})
    return JSONResponse({"user": found[0].to_dict()}, headers=NO_STORE)


async def shared(request: Request) -> JSONResponse:
    user_id = require_user(request)
    store = store_of(request)
    people = {user_id}
    for model in {m.groups for m in request.app.state.models.values() if is_group(m)}:
        for group_id in await memberships_in(store, model, user_id):
            doc = await store.get(model.collection, group_id)
            if doc is not None and doc.data is not None:
                people |= model.members_of(doc.data)
    accounts = request.app.state.accounts
    found = [user for user in [await accounts.get(id) for id in sorted(people)] if user]
    return JSONResponse({"users": [user.to_dict() for user in found]}, headers=NO_STORE)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/users/lookup", lookup, methods=["GET"], name="users.lookup"),
        Route("/api/users/shared", shared, methods=["GET"], name="users.shared"),
    ]
