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
- The id `count` is shadowed by that route; ids are random so none collide.

Every route needs a signed-in user (401 otherwise, `server/sessions.py`) and acts through
`model.as_user(user_id)`, reads and writes alike, so the model's access rules decide, written
once in the model (docs/AUTH.md). A document the user may not read does not exist for them:
GET, PUT, PATCH and DELETE answer 404 NOT_FOUND exactly as for an unknown id (status, body and
headers), and a POST reusing its id 409 "the id is taken" without its revision (ids are shared
by all users, so a create must refuse a taken one). Lists and counts leave such documents out.
A document the user may read but not write is a 403 ACCESS_DENIED.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from models.document import Document
from models.errors import ConflictError, NotFoundError, ValidationError
from models.fields import DateTime
from models.filters import parse_filter_json, parse_where_json
from models.limits import printable
from models.model import Model
from models.revisions import is_revision

from . import live, sharing
from .body import DEFAULT_MAX_BODY_BYTES, read_json_object
from .params import if_match
from .state import user_model

# ---- helpers ----------------------------------------------------------------------------------

def document_body(data: dict | None, rev: str | None) -> dict[str, Any]:
    """What the API sends for a document: the model's fields plus `_rev`."""
    return {**(data or {}), "_rev": rev}


def etag(rev: str | None) -> dict[str, str]:
    """The `ETag` header of a revision. Only a well-formed revision is ever stored; one that is
    not (a database written by hand) gets no header rather than a header that cannot be sent."""
    return {"ETag": f'"{rev}"'} if is_revision(rev) else {}


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

    async def _written(self, request: Request, model: type[Model], id: str,
                       before: Document | None) -> None:
        """Poke the change streams of whoever may read the document just written (committed):
        its owner now, and before if that was another."""
        after = await model.store.get_any(self.collection, id)  # type: ignore[union-attr]
        await sharing.reach_new_members(request, model.store,  # type: ignore[arg-type]
                                        model, {id: before}, [after])
        await live.notify(request, live.document_changes(self.collection, [after, before]))

    async def _live(self, model: type[Model], id: str) -> Document:
        """The live document `id` if the user may read it; 404 otherwise, alike (an id no
        document can have included)."""
        doc = await model.get_document(id)
        if doc is None:
            raise no_such(model, id)
        return doc

    async def find(self, request: Request) -> JSONResponse:
        model = self.model(request)
        query = parse_filter_json(request.query_params.get("filter"), model.fields)
        docs = await model.find_documents(query)
        return JSONResponse([document_body(doc.data, doc.rev) for doc in docs])

    async def count(self, request: Request) -> JSONResponse:
        model = self.model(request)
        query = parse_where_json(request.query_params.get("where"), model.fields)
        return JSONResponse({"count": await model.count_documents(query)})

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
            if (existing is not None and not (await model.resolved()).readable(existing)) \
                    or await sharing.account_ids(request, model, [obj.id]):
                raise ConflictError(f"the id {obj.id!r} is taken; choose another",
                                    {"id": obj.id})
            if existing is not None and not existing.deleted:
                raise ConflictError(
                    f"{model.__name__} {obj.id!r} already exists; PUT it to replace it",
                    {"id": obj.id, "current_rev": existing.rev},
                )
        await obj.save()
        await self._written(request, model, obj.id, None)
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
        await self._written(request, model, id, current)
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
        await self._written(request, model, id, current)
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
        await self._written(request, model, id, current)
        return JSONResponse({"count": 1})


def routes(models: Mapping[str, type[Model]], max_body_bytes: int) -> list[BaseRoute]:
    """The API routes, most specific first (`/count` before `/{id}`)."""
    out: list[BaseRoute] = []
    for collection in models:
        api = CollectionAPI(collection, max_body_bytes)
        base = f"/api/{collection}"
        out += [
            Route(base, api.find, methods=["GET"], name=f"{collection}.find"),
            Route(base, api.create, methods=["POST"], name=f"{collection}.create"),
            Route(f"{base}/count", api.count, methods=["GET"], name=f"{collection}.count"),
            Route(f"{base}/{{id}}", api.find_by_id, methods=["GET"],
                  name=f"{collection}.find_by_id"),
            Route(f"{base}/{{id}}", api.replace, methods=["PUT"], name=f"{collection}.replace"),
            Route(f"{base}/{{id}}", api.update, methods=["PATCH"], name=f"{collection}.update"),
            Route(f"{base}/{{id}}", api.delete, methods=["DELETE"], name=f"{collection}.delete"),
        ]
    return out
