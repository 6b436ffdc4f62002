"""LoopBack-style REST for every model: `/api/{collection}` and `/api/{collection}/{id}`.

Every write goes through the model (validation, hooks, access rules), then the store checks the
revision it was based on in the same transaction as the write, so a request either fully succeeds
or changes nothing.

Choices where LoopBack leaves room:
- `PUT /api/{c}/{id}` replaces the whole document, and only an existing one (LoopBack 4's
  `replaceById`): 404 otherwise. Creating, with the client's own id or not, is `POST /api/{c}`.
  A PUT that created would tell one user whether another user holds an id (docs/AUTH.md).
- `DELETE` answers 200 `{"count": 1}` like LoopBack's `deleteById`, and 404 for an unknown id.
- `If-Match` is optional on PUT/PATCH/DELETE. Without it the write is based on the current revision
  (last writer wins); with it a stale revision is refused with 409 REVISION_CONFLICT.
- Read-only fields belong to the server: on create, fields stamped only when missing
  (`created_at`) may come from the client, who made the object offline; any other read-only value
  in the input is replaced by the stored one (or dropped on create). `_rev` in a body is ignored:
  the revision a write is based on travels in `If-Match`.
- `ETag` is the revision in double quotes (RFC 9110); `If-Match` accepts it quoted or bare.
- The ids `count` and `changes` are shadowed by those routes; ids are random so none collide.

Every route needs a signed-in user (401 otherwise, `server/sessions.py`) and acts through
`model.as_user(user_id)`, so the model's access rules decide (docs/AUTH.md). A document the user
may not read does not exist for them: GET, PUT, PATCH and DELETE answer 404 NOT_FOUND exactly as
for an unknown id (status, body and headers), and a POST reusing its id 409 "the id is taken"
without its revision (ids are shared by all users, so a create must refuse a taken one). Lists,
counts and the changes feed leave such documents out. A document the user may read but not write
is a 403 ACCESS_DENIED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from models.access import READ, REPLICATE
from models.document import Document
from models.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from models.fields import DateTime
from models.filters import Query, parse_filter_json, parse_where_json
from models.limits import MAX_INTEGER, parse_ascii_int, printable
from models.model import Model
from models.revisions import REVISION_FORM, is_revision
from models.stores import Store

from .body import DEFAULT_MAX_BODY_BYTES, read_json_object
from .errors import InvalidParameterError, ModelNotFoundError, NotStartedError
from .sessions import require_user

CHANGES_DEFAULT_LIMIT = 1000
CHANGES_MAX_LIMIT = 10_000
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# ---- helpers ----------------------------------------------------------------------------------

def store_of(request: Request) -> Store:
    store = getattr(request.app.state, "store", None)
    if store is None:
        raise NotStartedError("the server is not started: its lifespan has not opened the database")
    return store


def document_body(data: dict | None, rev: str | None) -> dict[str, Any]:
    """What the API sends for a document: the model's fields plus `_rev`."""
    return {**(data or {}), "_rev": rev}


def etag(rev: str | None) -> dict[str, str]:
    """The `ETag` header of a revision. Only a well-formed revision is ever stored; one that is
    not (a database written by hand) gets no header rather than a header that cannot be sent."""
    return {"ETag": f'"{rev}"'} if is_revision(rev) else {}


def if_match(request: Request) -> str | None:
    """The revision named by `If-Match` (quoted or bare), `*` for any, or None; 400 when it is
    none of those (it could never match a revision)."""
    raw = request.headers.get("if-match")
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if "," in value:
        raise InvalidParameterError("If-Match must name one revision",
                                    {"If-Match": printable(value)})
    value = value.removeprefix("W/")
    value = value.strip('"')
    if not value:
        return None
    if value != "*" and not is_revision(value):
        raise InvalidParameterError(
            f"If-Match must be * or a revision ({REVISION_FORM}), got {printable(value)}",
            {"If-Match": printable(value)})
    return value


def int_param(request: Request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    """An integer query parameter: ASCII digits only (Python's int() also reads '٣' and '1_0'),
    within `minimum`..`maximum` (or 2^63-1, what the store can compare)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = parse_ascii_int(raw)
    top = MAX_INTEGER if maximum is None else maximum
    if value is None:
        digits = raw.removeprefix("-")
        if digits.isascii() and digits.isdigit():  # an integer, past what 64 bits hold
            raise InvalidParameterError(f"{name} must be between {minimum} and {top}",
                                        {name: printable(raw, 40), "minimum": minimum,
                                         "maximum": top})
        raise InvalidParameterError(
            f"{name} must be an integer written in ASCII digits, got {printable(raw, 40)}",
            {name: printable(raw, 40)})
    if value < minimum or value > top:
        raise InvalidParameterError(f"{name} must be between {minimum} and {top}, got {value}",
                                    {name: value, "minimum": minimum, "maximum": top})
    return value


def no_such(model: type[Model], id: str) -> NotFoundError:
    return NotFoundError(f"no {model.__name__} with id {printable(id)}", {"id": id})


def check_id(model: type[Model], path_id: str, body: dict[str, Any]) -> None:
    """The URL's id is one the model accepts, and the body names no other."""
    problem = model.id_problem(path_id)
    if problem:
        raise ValidationError(model.__name__, {"id": [problem]})
    if "id" in body and body["id"] is not None and body["id"] != path_id:
        raise ValidationError(
            model.__name__, {"id": [f"must match the id in the URL ({path_id!r})"]}
        )


def user_model(request: Request, collection: str) -> type[Model]:
    """The collection's model acting for the request's user: 503 before startup, 401 without a
    session."""
    store_of(request)
    user_id = require_user(request)
    return request.app.state.models[collection].as_user(user_id)


def denied(model: type[Model], access: str) -> AccessDeniedError:
    return AccessDeniedError(f"{access} on {model.collection} is not allowed", {"access": access})


def readable(model: type[Model], doc: Document) -> bool:
    return model.can(READ, user_id=model.user_id, owner_id=doc.owner)


def feed_owner(model: type[Model]) -> str | None:
    """The owner a feed must be limited to for this user (None: every document), or 403."""
    scope = model.read_scope()
    if scope == "all":
        return None
    if scope == "none":
        raise denied(model, READ)
    return model.user_id


def check_replicate(model: type[Model]) -> None:
    if not model.can(REPLICATE, user_id=model.user_id, owner_id=None):
        raise denied(model, REPLICATE)


def scoped_query(model: type[Model], query: Query) -> Query:
    """`query` limited to what the model's user may read."""
    owner = feed_owner(model)
    if owner is None:
        return query
    if "owner" not in model.fields:
        raise denied(model, READ)
    mine = {"owner": owner}
    # both parts are checked already: the extra level must not count against the user's limits
    return replace(query, where={"and": [query.where, mine]} if query.where else mine)


def server_fields(model: type[Model], body: dict[str, Any], stored: dict | None) -> dict[str, Any]:
    """The input with `_rev` removed and read-only fields settled as described in the module doc."""
    data = {k: v for k, v in body.items() if k != "_rev"}
    for name, field in model.fields.items():
        if not field.read_only:
            continue
        if stored is not None:
            data[name] = stored.get(name)
        elif not (isinstance(field, DateTime) and field.auto_now_add and not field.auto_now):
            data.pop(name, None)
    return data


# ---- endpoints --------------------------------------------------------------------------------

class CollectionAPI:
    """The endpoints of one collection; the model bound to the app's store is looked up per request
    so that the global model classes are never mutated."""

    def __init__(self, collection: str, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.collection = collection
        self.max_body_bytes = max_body_bytes

    def model(self, request: Request) -> type[Model]:
        return user_model(request, self.collection)

    async def _live(self, model: type[Model], id: str) -> Document:
        """The live document `id` if the user may read it; 404 otherwise, alike (an id no
        document can have included)."""
        if model.id_problem(id):
            raise no_such(model, id)
        doc = await model.store.get(model.collection, id)  # type: ignore[union-attr]
        if doc is None or not readable(model, doc):
            raise no_such(model, id)
        return doc

    async def find(self, request: Request) -> JSONResponse:
        model = self.model(request)
        query = parse_filter_json(request.query_params.get("filter"), model.fields)
        query = scoped_query(model, query)
        docs = await model.store.find(model.collection, query)  # type: ignore[union-attr]
        return JSONResponse([document_body(doc.data, doc.rev) for doc in docs])

    async def count(self, request: Request) -> JSONResponse:
        model = self.model(request)
        query = scoped_query(model, parse_where_json(request.query_params.get("where"),
                                                     model.fields))
        return JSONResponse({"count": await model.store.count(  # type: ignore[union-attr]
            model.collection, query)})

    async def changes(self, request: Request) -> JSONResponse:
        """A page of changes after `since`; `checkpoint` is the `since` of the next page."""
        model = self.model(request)
        check_replicate(model)
        owner = feed_owner(model)
        since = int_param(request, "since", 0, 0, None)
        limit = int_param(request, "limit", CHANGES_DEFAULT_LIMIT, 1, CHANGES_MAX_LIMIT)
        store = store_of(request)
        before = await store.checkpoint()
        changes = [doc.change for doc in await store.feed(model.collection, since, limit,
                                                          owner=owner)]
        if len(changes) == limit:
            checkpoint = changes[-1].checkpoint  # more may follow: resume right after this page
        else:
            checkpoint = max([before, since, *(c.checkpoint for c in changes)])
        return JSONResponse({"changes": [c.to_dict() for c in changes], "checkpoint": checkpoint})

    async def find_by_id(self, request: Request) -> JSONResponse:
        model = self.model(request)
        doc = await self._live(model, request.path_params["id"])
        return JSONResponse(document_body(doc.data, doc.rev), headers=etag(doc.rev))

    async def create(self, request: Request) -> JSONResponse:
        model = self.model(request)
        body = await read_json_object(request, self.max_body_bytes)
        obj = model.from_dict(server_fields(model, body, None))
        obj._rev = None
        if isinstance(obj.id, str):
            existing = await model.store.get_any(model.collection, obj.id)  # type: ignore
            if existing is not None and not readable(model, existing):
                raise ConflictError(f"the id {obj.id!r} is taken; choose another",
                                    {"id": obj.id})
            if existing is not None and not existing.deleted:
                raise ConflictError(
                    f"{model.__name__} {obj.id!r} already exists; PUT it to replace it",
                    {"id": obj.id, "current_rev": existing.rev},
                )
        await obj.save()
        headers = {**etag(obj._rev), "Location": f"/api/{self.collection}/{obj.id}"}
        return JSONResponse(document_body(obj.to_dict(), obj._rev), status_code=201,
                            headers=headers)

    async def replace(self, request: Request) -> JSONResponse:
        """Full replace of an existing document (LoopBack 4's `replaceById`). It never creates:
        an id the user cannot read, whether another user's or unused, is 404 alike (see the
        module doc); a client creates with POST, its own id included."""
        model = self.model(request)
        id = request.path_params["id"]
        body = await read_json_object(request, self.max_body_bytes)
        check_id(model, id, body)
        expected = if_match(request)
        current = await self._live(model, id)
        obj = model.from_dict({**server_fields(model, body, current.data), "id": id})
        obj._rev = current.rev if expected in (None, "*") else expected
        await obj.save()
        return JSONResponse(document_body(obj.to_dict(), obj._rev), headers=etag(obj._rev))

    async def update(self, request: Request) -> JSONResponse:
        """Partial update: the given fields are merged into the stored document, then validated."""
        model = self.model(request)
        id = request.path_params["id"]
        current = await self._live(model, id)
        body = await read_json_object(request, self.max_body_bytes)
        check_id(model, id, body)
        changes = server_fields(model, body, current.data)
        changes.pop("id", None)  # the URL names the document; check_id refused any other id
        obj = model.from_dict(current.data or {}, rev=current.rev)
        expected = if_match(request)
        if expected not in (None, "*"):
            obj._rev = expected
        await obj.update(**changes)
        return JSONResponse(document_body(obj.to_dict(), obj._rev), headers=etag(obj._rev))

    async def delete(self, request: Request) -> JSONResponse:
        model = self.model(request)
        id = request.path_params["id"]
        current = await self._live(model, id)
        obj = model.from_dict(current.data or {}, rev=current.rev)
        expected = if_match(request)
        if expected not in (None, "*"):
            obj._rev = expected
        await obj.delete()
        return JSONResponse({"count": 1})


async def checkpoint(request: Request) -> JSONResponse:
    store = store_of(request)
    require_user(request)
    return JSONResponse({"checkpoint": await store.checkpoint()})


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


def routes(models: Mapping[str, type[Model]], max_body_bytes: int) -> list[BaseRoute]:
    """The API routes, most specific first (`/count` and `/changes` before `/{id}`)."""
    out: list[BaseRoute] = [Route("/api/checkpoint", checkpoint, methods=["GET"])]
    for collection in models:
        api = CollectionAPI(collection, max_body_bytes)
        base = f"/api/{collection}"
        out += [
            Route(base, api.find, methods=["GET"], name=f"{collection}.find"),
            Route(base, api.create, methods=["POST"], name=f"{collection}.create"),
            Route(f"{base}/count", api.count, methods=["GET"], name=f"{collection}.count"),
            Route(f"{base}/changes", api.changes, methods=["GET"], name=f"{collection}.changes"),
            Route(f"{base}/{{id}}", api.find_by_id, methods=["GET"],
                  name=f"{collection}.find_by_id"),
            Route(f"{base}/{{id}}", api.replace, methods=["PUT"], name=f"{collection}.replace"),
            Route(f"{base}/{{id}}", api.update, methods=["PATCH"], name=f"{collection}.update"),
            Route(f"{base}/{{id}}", api.delete, methods=["DELETE"], name=f"{collection}.delete"),
        ]
    return out


def unknown_model_routes(owned: set[str]) -> list[BaseRoute]:
    """Catch-alls for `/api/<unknown>` and below; `owned` are the first segments already served."""
    return [
        UnknownModelRoute("/api/{collection}", owned),
        UnknownModelRoute("/api/{collection}/{rest:path}", owned),
    ]
