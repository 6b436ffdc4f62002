"""The OpenAPI paths of `server/rest.py`: the LoopBack-style routes of one collection."""

from __future__ import annotations

import json
from typing import Any

from models.filters import (
    MAX_LIMIT,
    MAX_ORDER_TERMS,
    MAX_PATTERN_LENGTH,
    MAX_WHERE_CONDITIONS,
    MAX_WHERE_DEPTH,
    MAX_WHERE_VALUES,
)
from models.model import Model

from .common import errors, json_response, param, ref
from .schemas import example_body, model_schemas


def schemas(model: type[Model]) -> dict[str, Any]:
    return model_schemas(model)


def paths(collection: str, model: type[Model]) -> dict[str, Any]:
    """`/api/{collection}`, `/count` and `/{id}`."""
    name = model.__name__
    doc = ref(name)
    body = {"required": True, "content": {"application/json": {
        "schema": ref(f"{name}Input"), "example": example_body(model)}}}
    replace = {"required": True, "content": {"application/json": {
        "schema": ref(f"{name}Replace"), "example": example_body(model)}}}
    partial = {"required": True, "content": {"application/json": {
        "schema": ref(f"{name}Patch"),
        "example": {"completed": True} if "completed" in model.fields else {}}}}
    id_param = param("id", "path", f"The {name}'s id", {"type": "string"}, True, "abc123")
    match = param("If-Match", "header",
                  "The revision this write is based on (quoted or bare), or *; stale → "
                  "409, not a revision → 400. Optional.",
                  {"type": "string", "pattern": "^[^,]*$"})
    etag_header = {"ETag": {"description": "The revision, quoted",
                            "schema": {"type": "string"}}}
    where_example = json.dumps({"completed": False})
    tags = [collection]
    base = f"/api/{collection}"
    out: dict[str, Any] = {}
    out[base] = {
        "get": {
            "summary": f"Find {collection} matching a filter",
            "operationId": f"{collection}.find", "tags": tags,
            "parameters": [param(
                "filter", "query",
                f"JSON object with where, order, limit (≤ {MAX_LIMIT}), skip (LoopBack "
                f"syntax); and/or nested ≤ {MAX_WHERE_DEPTH}, ≤ {MAX_WHERE_CONDITIONS} "
                f"conditions, ≤ {MAX_WHERE_VALUES} listed values, ≤ {MAX_ORDER_TERMS} order "
                f"terms, like patterns ≤ {MAX_PATTERN_LENGTH} characters",
                {"type": "string"}, example=json.dumps(
                    {"where": {"completed": False}, "order": "order ASC", "limit": 10}))],
            "responses": {"200": json_response({"type": "array", "items": doc}),
                          **errors("400", "404")},
        },
        "post": {
            "summary": f"Create a {name} (the client may choose its id)",
            "operationId": f"{collection}.create", "tags": tags,
            "requestBody": body,
            "responses": {"201": {**json_response(doc, "Created"), "headers": etag_header},
                          **errors("400", "404", "409", "413", "415", "422")},
        },
    }
    out[f"{base}/count"] = {"get": {
        "summary": f"Count {collection} matching a where clause",
        "operationId": f"{collection}.count", "tags": tags,
        "parameters": [param("where", "query", "JSON where clause (the filter's limits)",
                              {"type": "string"},
                              example=where_example)],
        "responses": {"200": json_response({"type": "object", "properties": {
            "count": {"type": "integer"}}}), **errors("400", "404")},
    }}
    out[f"{base}/{{id}}"] = {
        "get": {
            "summary": f"One {name} by id",
            "operationId": f"{collection}.find_by_id", "tags": tags,
            "parameters": [id_param],
            "responses": {"200": {**json_response(doc), "headers": etag_header},
                          **errors("400", "404")},
        },
        "put": {
            "summary": f"Replace a {name} (replaceById; create with POST)",
            "description": "An id the user cannot read, another user's or unused, is 404 "
                           "alike: this never creates.",
            "operationId": f"{collection}.replace", "tags": tags,
            "parameters": [id_param, match], "requestBody": replace,
            "responses": {"200": {**json_response(doc, "Replaced"), "headers": etag_header},
                          **errors("400", "404", "409", "413", "415", "422")},
        },
        "patch": {
            "summary": f"Change some fields of a {name}",
            "operationId": f"{collection}.update", "tags": tags,
            "parameters": [id_param, match], "requestBody": partial,
            "responses": {"200": {**json_response(doc), "headers": etag_header},
                          **errors("400", "404", "409", "413", "415", "422")},
        },
        "delete": {
            "summary": f"Delete a {name} (a tombstone replicates the delete)",
            "operationId": f"{collection}.delete", "tags": tags,
            "parameters": [id_param, match],
            "responses": {"200": json_response({"type": "object", "properties": {
                "count": {"const": 1}}}), **errors("400", "404", "409")},
        },
    }
    return out
