"""The API described twice from one source: `/openapi.json` for machines, `/api/docs` for people.

Schemas come from the models' fields, and the docs page is rendered from the OpenAPI document
itself, so the two cannot disagree. `tests/test_api.py` checks every route under `/api` appears
here, so a route added without documentation fails the tests.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

from models.fields import Boolean, DateTime, Field, Integer, Number, String
from models.filters import (
    MAX_LIMIT,
    MAX_ORDER_TERMS,
    MAX_PATTERN_LENGTH,
    MAX_WHERE_CONDITIONS,
    MAX_WHERE_DEPTH,
    MAX_WHERE_VALUES,
)
from models.model import ID_PATTERN, Model

from . import auth, sync
from .rest import CHANGES_DEFAULT_LIMIT, CHANGES_MAX_LIMIT, MAX_INTEGER

ERROR_CODES = {
    "400": "Malformed JSON (MALFORMED_JSON), a body that is not an object or holds what no"
           " store can (INVALID_BODY: lone surrogates, numbers past 64 bits or infinite, nested"
           " deeper than 32), a filter that cannot be understood or is past a limit"
           " (INVALID_FILTER), a parameter, If-Match or URL that is not what it must be"
           " (INVALID_PARAMETER); on sync routes also PROTOCOL_MISMATCH, INVALID_DOC"
           " (details.index names the doc; nothing was written), INVALID_CHANGE",
    "401": "No session (NOT_AUTHENTICATED), an expired one (SESSION_EXPIRED), or a wrong"
           " username or password (INVALID_CREDENTIALS): log in",
    "403": "The model's access rules refuse this (ACCESS_DENIED), or a write made with the"
           " session cookie lacks its X-CSRF-Token header, or a log-in, registration or"
           " log-out comes from another site's page (CSRF_FAILED); nothing was done",
    "404": "Unknown model (MODEL_NOT_FOUND) or id (NOT_FOUND)",
    "409": "If-Match names a revision that is no longer current (REVISION_CONFLICT), or the"
           " document is at the largest revision generation (REVISION_LIMIT)",
    "410": "since is older than the tombstone purge horizon (CHECKPOINT_EXPIRED): resync from 0",
    "413": "Body larger than the server's limit, holding more JSON values than it allows"
           " (details.max_values), or more than 5000 docs in one sync request"
           " (PAYLOAD_TOO_LARGE)",
    "415": "Body not sent as application/json",
    "422": "Validation failed; details name each field with its messages",
    "429": "Too many failed log-ins, or registrations from this address (TOO_MANY_ATTEMPTS);"
           " Retry-After says when to try again",
}


ID_SCHEMA = {"type": "string", "pattern": ID_PATTERN.pattern,
             "description": "1-64 letters, digits, '-' or '_'; made where the object is created"}
# What str.strip() removes (str.isspace), spelled out: JSON Schema's \s is another set.
NOT_ONLY_SPACE = ("[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029"
                  "\u202f\u205f\u3000]")


def _field_schemas(model: type[Model]) -> dict[str, Any]:
    properties = {}
    for name, field in model.fields.items():
        schema = field.schema()
        if name == "id":
            schema = {**ID_SCHEMA}
        elif isinstance(field, String) and field.trim and field.min_length:
            schema["pattern"] = NOT_ONLY_SPACE  # trimmed first: blank is empty
        properties[name] = schema
    return properties


def model_schema(model: type[Model]) -> dict[str, Any]:
    """A document as the API answers it: every field, its id and `_rev`."""
    properties = _field_schemas(model)
    properties["_rev"] = {"type": "string", "readOnly": True,
                          "description": "Revision; send it back in If-Match to update safely"}
    return {
        "type": "object",
        "properties": properties,
        "required": sorted({"id", "_rev", *(n for n, f in model.fields.items() if f.required)}),
        "additionalProperties": False,
    }


def input_schema(model: type[Model], *, partial: bool = False,
                 replacing: bool = False) -> dict[str, Any]:
    """What a create (or, `replacing`, a PUT; `partial`, a PATCH) takes: the fields a client may
    send, required only when they have no default. Read-only fields are replaced by the
    server's, and `_rev` is ignored (the revision travels in If-Match)."""
    properties = _field_schemas(model)
    if replacing:
        del properties["id"]  # the URL names it (an id in the body must be the same)
    properties["_rev"] = {"description": "Ignored, whatever it is: the revision travels in "
                                         "If-Match"}
    required = [] if partial else sorted(
        n for n, f in model.fields.items() if f.required and f.default is None)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        "description": "Any subset of the fields" if partial else
                       "The fields; those left out take their defaults",
    }


def example_value(name: str, field: Field) -> Any:
    if isinstance(field, Boolean):
        return False
    if isinstance(field, (Integer, Number)):
        return 1
    if isinstance(field, DateTime):
        return "2024-01-01T00:00:00.000Z"
    if isinstance(field, String):
        return "Buy milk" if name == "title" else f"some {name}"
    return None


def example_body(model: type[Model]) -> dict[str, Any]:
    return {name: example_value(name, field) for name, field in model.fields.items()
            if field.required and not field.read_only}


def _param(name: str, where: str, description: str, schema: dict, required: bool = False,
           example: Any = None) -> dict[str, Any]:
    out = {"name": name, "in": where, "description": description, "required": required,
           "schema": schema}
    if example is not None:
        out["example"] = example
    return out


def _json(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK",
            "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"$ref": f"#/components/responses/Error{s}"} for s in statuses}


def build_spec(models: Mapping[str, type[Model]], *, title: str = "offsync") -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/checkpoint": {"get": {
            "summary": "The store's current checkpoint (sequence number of its last write)",
            "operationId": "checkpoint",
            "tags": ["sync"],
            "responses": {"200": _json({"type": "object", "properties": {
                "checkpoint": {"type": "integer"}}})},
        }},
        "/api/docs": {"get": {
            "summary": "This API described for people (HTML)",
            "operationId": "docs",
            "tags": ["meta"],
            "responses": {"200": {"description": "HTML page",
                                  "content": {"text/html": {"schema": {"type": "string"}}}}},
        }},
    }
    paths.update(auth.spec_paths())
    schemas: dict[str, Any] = {
        **sync.SCHEMAS,
        **auth.SCHEMAS,
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["status", "code", "message", "details"],
            "properties": {"status": {"type": "integer"}, "code": {"type": "string"},
                           "message": {"type": "string"}, "details": {"type": "object"}}}}},
        "Change": {"type": "object", "required": ["id", "rev", "checkpoint", "type"],
                   "properties": {
            "model": {"type": "string", "description": "Ignored by diff: the URL names it"},
            "id": {"type": "string"}, "rev": {"type": "string"},
            "prev": {"type": ["string", "null"]}, "checkpoint": {"type": "integer"},
            "type": {"enum": ["create", "update", "delete"]},
            "history": {"type": "array", "items": {"type": "string"}}}},
    }
    for collection, model in models.items():
        name = model.__name__
        schemas[name] = model_schema(model)
        schemas[f"{name}Input"] = input_schema(model)
        schemas[f"{name}Replace"] = input_schema(model, replacing=True)
        schemas[f"{name}Patch"] = input_schema(model, partial=True, replacing=True)
        ref = {"$ref": f"#/components/schemas/{name}"}
        body = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}Input"},
            "example": example_body(model)}}}
        replace = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}Replace"},
            "example": example_body(model)}}}
        partial = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}Patch"},
            "example": {"completed": True} if "completed" in model.fields else {}}}}
        id_param = _param("id", "path", f"The {name}'s id", {"type": "string"}, True, "abc123")
        match = _param("If-Match", "header",
                       "The revision this write is based on (quoted or bare), or *; stale → "
                       "409, not a revision → 400. Optional.",
                       {"type": "string", "pattern": "^[^,]*$"})
        etag_header = {"ETag": {"description": "The revision, quoted",
                                "schema": {"type": "string"}}}
        where_example = json.dumps({"completed": False})
        tags = [collection]
        base = f"/api/{collection}"
        paths[base] = {
            "get": {
                "summary": f"Find {collection} matching a filter",
                "operationId": f"{collection}.find", "tags": tags,
                "parameters": [_param(
                    "filter", "query",
                    f"JSON object with where, order, limit (≤ {MAX_LIMIT}), skip (LoopBack "
                    f"syntax); and/or nested ≤ {MAX_WHERE_DEPTH}, ≤ {MAX_WHERE_CONDITIONS} "
                    f"conditions, ≤ {MAX_WHERE_VALUES} listed values, ≤ {MAX_ORDER_TERMS} order "
                    f"terms, like patterns ≤ {MAX_PATTERN_LENGTH} characters",
                    {"type": "string"}, example=json.dumps(
                        {"where": {"completed": False}, "order": "order ASC", "limit": 10}))],
                "responses": {"200": _json({"type": "array", "items": ref}),
                              **_errors("400", "404")},
            },
            "post": {
                "summary": f"Create a {name} (the client may choose its id)",
                "operationId": f"{collection}.create", "tags": tags,
                "requestBody": body,
                "responses": {"201": {**_json(ref, "Created"), "headers": etag_header},
                              **_errors("400", "404", "409", "413", "415", "422")},
            },
        }
        paths[f"{base}/count"] = {"get": {
            "summary": f"Count {collection} matching a where clause",
            "operationId": f"{collection}.count", "tags": tags,
            "parameters": [_param("where", "query", "JSON where clause (the filter's limits)",
                                  {"type": "string"},
                                  example=where_example)],
            "responses": {"200": _json({"type": "object", "properties": {
                "count": {"type": "integer"}}}), **_errors("400", "404")},
        }}
        paths[f"{base}/changes"] = {"get": {
            "summary": f"Changes to {collection} after a checkpoint, oldest first, in pages",
            "description": "Pass the returned checkpoint as `since` to get the next page.",
            "operationId": f"{collection}.changes", "tags": tags + ["sync"],
            "parameters": [
                _param("since", "query", "Checkpoint to start after (default 0)",
                       {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}, example=0),
                _param("limit", "query", f"Page size (default {CHANGES_DEFAULT_LIMIT})",
                       {"type": "integer", "minimum": 1, "maximum": CHANGES_MAX_LIMIT},
                       example=100),
            ],
            "responses": {"200": _json({"type": "object", "properties": {
                "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
                "checkpoint": {"type": "integer"}}}), **_errors("400", "404")},
        }}
        paths.update(sync.spec_paths(collection))
        paths[f"{base}/{{id}}"] = {
            "get": {
                "summary": f"One {name} by id",
                "operationId": f"{collection}.find_by_id", "tags": tags,
                "parameters": [id_param],
                "responses": {"200": {**_json(ref), "headers": etag_header},
                              **_errors("400", "404")},
            },
            "put": {
                "summary": f"Replace a {name} (replaceById; create with POST)",
                "description": "An id the user cannot read, another user's or unused, is 404 "
                               "alike: this never creates.",
                "operationId": f"{collection}.replace", "tags": tags,
                "parameters": [id_param, match], "requestBody": replace,
                "responses": {"200": {**_json(ref, "Replaced"), "headers": etag_header},
                              **_errors("400", "404", "409", "413", "415", "422")},
            },
            "patch": {
                "summary": f"Change some fields of a {name}",
                "operationId": f"{collection}.update", "tags": tags,
                "parameters": [id_param, match], "requestBody": partial,
                "responses": {"200": {**_json(ref), "headers": etag_header},
                              **_errors("400", "404", "409", "413", "415", "422")},
            },
            "delete": {
                "summary": f"Delete a {name} (a tombstone replicates the delete)",
                "operationId": f"{collection}.delete", "tags": tags,
                "parameters": [id_param, match],
                "responses": {"200": _json({"type": "object", "properties": {
                    "count": {"const": 1}}}), **_errors("400", "404", "409")},
            },
        }
    for path, operations in paths.items():
        if path.startswith("/api/") and not path.startswith(("/api/auth/", "/api/docs")):
            for operation in operations.values():  # every model route needs a session
                for status in ("401", "403"):
                    operation["responses"].setdefault(status, _errors(status)[status])
    responses = {f"Error{status}": {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for status, text in ERROR_CODES.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "0.1.0",
                 "description": "LoopBack-style REST over offsync models. Errors are "
                                '{"error": {"status", "code", "message", "details"}}. Every '
                                "route but /api/auth/* and /api/docs needs a session (log in "
                                "with POST /api/auth/login); writes also need the X-CSRF-Token "
                                "header (docs/AUTH.md)."},
        "paths": paths,
        "components": {"schemas": schemas, "responses": responses},
    }


# ---- the page for people ----------------------------------------------------------------------

def _curl(method: str, path: str, operation: dict[str, Any], base_url: str) -> str:
    url = path
    query = []
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            url = url.replace("{" + param["name"] + "}", str(param.get("example", "ID")))
        elif param["in"] == "query" and "example" in param:
            # -G --data-urlencode: JSON in a URL needs encoding, and curl globs on { and [
            query.append(f"--data-urlencode '{param['name']}={param['example']}'")
    url = base_url + url
    parts = ["curl", *(["-G", *query] if query else [])]
    if method != "get":
        parts.append(f"-X {method.upper()}")
    if "requestBody" in operation:
        example = operation["requestBody"]["content"]["application/json"]["example"]
        parts.append("-H 'content-type: application/json'")
        parts.append(f"-d '{json.dumps(example)}'")
    if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
        parts.append("-H 'If-Match: \"<rev>\"'")
    parts.append(f"'{url}'")
    return " ".join(parts)


def render_docs(spec: dict[str, Any], base_url: str) -> str:
    e = html.escape
    rows = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = "".join(
                f"<li><code>{e(p['name'])}</code> ({e(p['in'])}"
                f"{', required' if p.get('required') else ''}): {e(p.get('description', ''))}</li>"
                for p in op.get("parameters", [])
            )
            statuses = ", ".join(e(s) for s in op.get("responses", {}))
            rows.append(
                f'<section id="{e(op["operationId"])}"><h3><span class="m">{e(method.upper())}'
                f"</span> <code>{e(path)}</code></h3><p>{e(op['summary'])}</p>"
                + (f"<p>{e(op['description'])}</p>" if op.get("description") else "")
                + (f"<ul>{params}</ul>" if params else "")
                + f"<p>Responses: {statuses}</p>"
                f"<pre>{e(_curl(method, path, op, base_url))}</pre></section>"
            )
    schemas = "".join(
        f"<h3>{e(name)}</h3><pre>{e(json.dumps(schema, indent=2))}</pre>"
        for name, schema in spec["components"]["schemas"].items()
    )
    errors = "".join(
        f"<li><code>{e(key.removeprefix('Error'))}</code>: {e(value['description'])}</li>"
        for key, value in spec["components"]["responses"].items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(spec['info']['title'])} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
        padding: 0 1rem; }}
pre {{ background: #f4f4f4; padding: .6rem; overflow-x: auto; }}
section {{ border-top: 1px solid #ddd; }} .m {{ font-family: monospace; color: #0a5; }}
</style></head><body>
<h1>{e(spec['info']['title'])} API</h1>
<p>{e(spec['info']['description'])} Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<h2>Errors</h2><ul>{errors}</ul>
<h2>Routes</h2>
{''.join(rows)}
<h2>Schemas</h2>
{schemas}
</body></html>
"""


def routes(spec: dict[str, Any]) -> list[BaseRoute]:
    async def openapi_json(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    async def docs(request: Request) -> HTMLResponse:
        base_url = str(request.base_url).rstrip("/")
        return HTMLResponse(render_docs(spec, base_url))

    return [
        Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False),
        Route("/api/docs", docs, methods=["GET"]),
    ]
