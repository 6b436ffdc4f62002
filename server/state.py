"""What a request acts on: the store the app's lifespan opened, and each collection's model
acting for the request's user. Every endpoint module reaches the app's state through these, so
"not started" (503) and "no session" (401) are answered the same way everywhere.
"""

from __future__ import annotations

from starlette.requests import Request

from models.model import Model
from models.stores import Store

from .errors import NotStartedError
from .sessions import require_user


def store_of(request: Request) -> Store:
    """The app's store; 503 NOT_STARTED before the lifespan opened the database (or after)."""
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise NotStartedError("the server is not started: its lifespan has not opened the database")
    return store


def user_model(request: Request, collection: str) -> type[Model]:
    """The collection's model acting for the request's user (its access rules enforced): 503
    before startup, 401 without a session."""
    store_of(request)
    user_id = require_user(request)
    return request.app.state.models[collection].as_user(user_id)
