"""The pieces every part of the OpenAPI document shares: references, responses, parameters and
the error statuses with what each means."""

from __future__ import annotations

from typing import Any

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
           " document is at the largest revision generation (REVISION_LIMIT); on sync routes a"
           " pull by a client on an older model version (UPDATE_REQUIRED: reload to update) or"
           " any request by one on a newer version than the server's (VERSION_AHEAD)",
    "410": "since is older than the tombstone purge horizon (CHECKPOINT_EXPIRED): resync from 0",
    "413": "Body larger than the server's limit, holding more JSON values than it allows"
           " (details.max_values), or more than 5000 docs in one sync request"
           " (PAYLOAD_TOO_LARGE)",
    "415": "Body not sent as application/json",
    "422": "Validation failed; details name each field with its messages",
    "429": "Too many failed log-ins, or registrations from this address (TOO_MANY_ATTEMPTS);"
           " Retry-After says when to try again",
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "code", "message", "details"],
        "properties": {"status": {"type": "integer"}, "code": {"type": "string"},
                       "message": {"type": "string"}, "details": {"type": "object"}}}},
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK",
            "content": {"application/json": {"schema": schema}}}


def errors(*statuses: str) -> dict[str, Any]:
    """References to the shared error responses of these statuses."""
    return {s: {"$ref": f"#/components/responses/Error{s}"} for s in statuses}


def param(name: str, where: str, description: str, schema: dict, required: bool = False,
          example: Any = None) -> dict[str, Any]:
    out = {"name": name, "in": where, "description": description, "required": required,
           "schema": schema}
    if example is not None:
        out["example"] = example
    return out


def error_responses() -> dict[str, Any]:
    """`components.responses`: one per error status, each an `Error` body."""
    return {f"Error{status}": {"description": text, "content": {"application/json": {
        "schema": ref("Error")}}} for status, text in ERROR_CODES.items()}
