"""`/api/<name>...` for a name no model has: 404 MODEL_NOT_FOUND naming the known models.

The catch-alls go after every other `/api/` route and match only names no route owns, so a known
collection still gets the usual 404/405.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from .errors import ModelNotFoundError

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def unknown_model(request: Request) -> JSONResponse:
    name = request.path_params["collection"]
    known = ", ".join(sorted(request.app.state.collections))
    raise ModelNotFoundError(f"there is no model {name!r} (known: {known})", {"model": name})


class UnknownModelRoute(Route):
    """Matches `/api/<name>...` only when no other route owns `<name>`, so that a known collection
    still gets the usual 404/405 and an unknown one gets MODEL_NOT_FOUND."""

    def __init__(self, path: str, owned: set[str]) -> None:
        super().__init__(path, unknown_model, methods=ALL_METHODS, include_in_schema=False)
        self.owned = owned

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and child["path_params"]["collection"] in self.owned:
            return Match.NONE, {}
        return match, child


def routes(owned: set[str]) -> list[BaseRoute]:
    """Catch-alls for `/api/<unknown>` and below; `owned` are the first segments already served."""
    return [
        UnknownModelRoute("/api/{collection}", owned),
        UnknownModelRoute("/api/{collection}/{rest:path}", owned),
    ]
