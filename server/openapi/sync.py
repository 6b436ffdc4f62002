"""The OpenAPI description of `server/sync.py`: the sync protocol's messages as schemas, and
each collection's sync paths (docs/PROTOCOL.md is the prose)."""

from __future__ import annotations

from typing import Any

from models.document import UNACKED_LIMIT
from models.protocol import MAX_SYNC_DOCS, MAX_SYNC_LIMIT, PROTOCOL_VERSION, SYNC_DEFAULT_LIMIT
from models.revisions import REVISION

from .common import errors, json_response, ref

_PROTOCOL = {"const": PROTOCOL_VERSION, "description": "The sync protocol version"}
_VERSION = {"type": "integer", "minimum": 1, "description": "The model version of the docs "
            "(absent: 1); an older push is migrated on arrival (docs/PROTOCOL.md)"}
_DATABASE = {"type": "string", "pattern": "^[1-9][0-9]{0,18}$",
             "description": "The identity of the server's database (decimal text, compared, never "
                            "computed with): a client whose checkpoints were taken against another "
                            "one resyncs fully (docs/PROTOCOL.md, 'A server that changed'). "
                            "Older servers leave it out"}
_REV = {"type": "string", "pattern": "^" + REVISION.pattern + "$",
        "description": "`<generation>-<32 hex>`, the generation 1-999999999: identifies "
                       "content and history"}

SCHEMAS: dict[str, Any] = {
    "SyncDoc": {
        "type": "object", "required": ["id", "rev"],
        "description": "A document as replication moves it (docs/PROTOCOL.md, 'The wire doc')",
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "rev": _REV,
            "history": {"type": "array", "items": {"type": "string"},
                        "description": "Ancestor revisions, newest first"},
            "deleted": {"type": "boolean", "description": "A tombstone (data is null)"},
            "data": {"type": ["object", "null"], "description": "The model's fields"},
            "type": {"enum": ["create", "update", "delete"]},
            "checkpoint": {"type": "integer",
                           "description": "Sequence number of this write in the sender's store"},
            "base_rev": {"type": ["string", "null"],
                         "description": "Last revision the sender knows its peer holds"},
            "base_data": {"type": ["object", "null"],
                          "description": "Body of base_rev (sent when base_rev != rev)"},
            "owner": {"type": ["string", "null"],
                      "description": "The owning user's id (data.owner; kept on tombstones)"},
            "unacked": {
                "type": "array", "maxItems": UNACKED_LIMIT,
                "description": "Optional: ancestors the sender wrote and may have delivered "
                               "without seeing the answer, with their bodies (merge base "
                               "candidates; docs/PROTOCOL.md, 'Lost answers')",
                "items": {"type": "object", "required": ["rev", "data"], "properties": {
                    "rev": _REV, "data": {"type": "object"}}},
            },
        },
    },
    "SyncDocSent": {
        "allOf": [ref("SyncDoc")], "unevaluatedProperties": False,
        "required": ["id", "rev", "history", "deleted", "data", "type", "checkpoint", "base_rev",
                     "owner"],
        "description": "A wire doc as the server sends it: every field (base_data only when "
                       "base_rev != rev), nothing else",
    },
    "SyncChangesPage": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "docs": {"type": "array", "items": ref("SyncDocSent")},
        "checkpoint": {"type": "integer",
                       "description": "The last doc's checkpoint (or since): the next since"},
        "remaining": {"type": "integer", "description": "Documents changed after checkpoint"},
        "database": _DATABASE,
        "version": _VERSION,
    }},
    "SyncApplyRequest": {"type": "object", "required": ["protocol", "docs"], "properties": {
        "protocol": _PROTOCOL,
        "version": _VERSION,
        "docs": {"type": "array", "maxItems": MAX_SYNC_DOCS, "items": ref("SyncDoc")},
    }},
    "SyncOutcome": {"type": "object", "properties": {
        "id": {"type": "string"},
        "rev": {"type": "string", "description": "The revision that was sent"},
        "status": {"enum": ["applied", "unchanged", "merged", "conflict", "rejected"]},
        "current": {"oneOf": [ref("SyncDocSent"), {"type": "null"}],
                    "description": "The server's document after (for a conflict: as it is)"},
        "error": {"type": ["object", "null"], "description": "Why a doc was rejected"},
    }},
    "SyncApplyResponse": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "results": {"type": "array", "items": ref("SyncOutcome"),
                    "description": "One per doc sent, in the same order"},
        "checkpoint": {"type": "integer", "description": "The server's checkpoint after"},
        "database": _DATABASE,
    }},
    "SyncDiffRequest": {"type": "object", "required": ["protocol", "changes"], "properties": {
        "protocol": _PROTOCOL,
        "changes": {"type": "array", "maxItems": MAX_SYNC_DOCS, "items": ref("Change")},
    }},
    "SyncDiffResponse": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "missing": {"type": "array", "items": {"type": "string"},
                    "description": "Ids the server lacks (pushing them fast-forwards)"},
        "conflicts": {"type": "array", "items": {"type": "string"},
                      "description": "Ids where both sides moved on (merge or conflict)"},
        "database": _DATABASE,
    }},
    "SyncConflicts": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "conflicts": {"type": "array", "items": {"type": "object", "properties": {
            "mine": {"oneOf": [ref("SyncDocSent"), {"type": "null"}],
                     "description": "The server's document"},
            "theirs": ref("SyncDocSent"),
        }}},
    }},
    "Change": {"type": "object", "required": ["id", "rev", "checkpoint", "type"],
               "properties": {
        "model": {"type": "string", "description": "Ignored by diff: the URL names it"},
        "id": {"type": "string"}, "rev": {"type": "string"},
        "prev": {"type": ["string", "null"]}, "checkpoint": {"type": "integer"},
        "type": {"enum": ["create", "update", "delete"]},
        "history": {"type": "array", "items": {"type": "string"}}}},
}

EXAMPLE_DOC = {
    "id": "abc123", "rev": "1-" + "0" * 32, "history": [], "deleted": False,
    "data": {"id": "abc123", "title": "Buy milk", "completed": False}, "type": "create",
    "checkpoint": 1, "base_rev": None,
}


CHECKPOINT_PATHS: dict[str, Any] = {
    "/api/checkpoint": {"get": {
        "summary": "The store's current checkpoint (sequence number of its last write) and the "
                   "identity of its database",
        "operationId": "checkpoint",
        "tags": ["sync"],
        "responses": {"200": json_response({"type": "object", "properties": {
            "checkpoint": {"type": "integer"}, "database": _DATABASE}})},
    }},
    "/api/changes/stream": {"get": {
        "summary": "Live updates: Server-Sent Events telling the signed-in user that data they "
                   "may read changed, so the client pulls (server/live.py)",
        "description": "`event: change` with `data: {\"checkpoint\": N}`: first the current "
                       "checkpoint, then one after each write the user may read; a comment "
                       "line every 15 seconds. Nothing else, never an id. The stream ends "
                       "with the session.",
        "operationId": "changes.stream",
        "tags": ["live"],
        "responses": {"200": {"description": "An endless event stream", "content": {
            "text/event-stream": {"schema": {"type": "string"}}}}},
    }},
}


def paths(collection: str) -> dict[str, Any]:
    """The sync paths of one collection, for the OpenAPI document."""
    tags = [collection, "sync"]
    base = f"/api/{collection}/sync"
    since = {"name": "since", "in": "query", "required": False, "example": 0,
             "description": "Checkpoint to read after (default 0); 410 below the purge horizon",
             "schema": {"type": "integer", "minimum": 0}}
    limit = {"name": "limit", "in": "query", "required": False, "example": 100,
             "description": f"Page size (default {SYNC_DEFAULT_LIMIT}, max {MAX_SYNC_LIMIT}); "
                            "0 returns no docs, only remaining",
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SYNC_LIMIT}}
    full = {"name": "full", "in": "query", "required": False,
            "description": "1 (or true) while paging through a full resync from 0 (no 410 on "
                           "later pages); any other value is not a full resync",
            "schema": {"type": "string"}}
    protocol = {"name": "protocol", "in": "query", "required": False,
                "description": f"Optional; anything but {PROTOCOL_VERSION} → 400 "
                               "PROTOCOL_MISMATCH", "schema": {"const": PROTOCOL_VERSION}}

    version = {"name": "version", "in": "query", "required": False,
               "description": "The client's model version (absent: 1): older than the "
                              "server's → 409 UPDATE_REQUIRED, newer → 409 VERSION_AHEAD",
               "schema": {"type": "integer", "minimum": 1}}

    def body(schema: str, example: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {
            "schema": ref(schema), "example": example}}}

    return {
        f"{base}/changes": {"get": {
            "summary": f"Pull: {collection} documents (tombstones too) written after a checkpoint",
            "description": "Oldest first, one document once (its newest revision). Pass the "
                           "returned checkpoint as since for the next page until docs is empty.",
            "operationId": f"{collection}.sync_changes", "tags": tags,
            "parameters": [since, limit, full, protocol, version],
            "responses": {"200": json_response(ref("SyncChangesPage")),
                          **errors("400", "403", "404", "409", "410")},
        }},
        f"{base}/apply": {"post": {
            "summary": f"Push: apply a batch of {collection} revisions in one transaction",
            "description": "Each doc is applied, unchanged, merged, conflict or rejected (the "
                           "server's model validation). Re-sending a batch is a no-op. Up to "
                           f"{MAX_SYNC_DOCS} docs; the body limit is the server's "
                           "max_sync_body_bytes (16 MiB by default).",
            "operationId": f"{collection}.sync_apply", "tags": tags,
            "requestBody": body("SyncApplyRequest",
                                {"protocol": PROTOCOL_VERSION, "docs": [EXAMPLE_DOC]}),
            "responses": {"200": json_response(ref("SyncApplyResponse")),
                          **errors("400", "403", "404", "409", "413", "415")},
        }},
        f"{base}/diff": {"post": {
            "summary": f"Which {collection} changes the server lacks, and which would conflict",
            "operationId": f"{collection}.sync_diff", "tags": tags,
            "requestBody": body("SyncDiffRequest", {"protocol": PROTOCOL_VERSION, "changes": [{
                "model": collection, "id": "abc123", "rev": EXAMPLE_DOC["rev"], "prev": None,
                "checkpoint": 1, "type": "create", "history": []}]}),
            "responses": {"200": json_response(ref("SyncDiffResponse")),
                          **errors("400", "403", "404", "413", "415")},
        }},
        f"{base}/conflicts": {"get": {
            "summary": f"Conflicts the server recorded for {collection}, until resolved",
            "operationId": f"{collection}.sync_conflicts", "tags": tags,
            "parameters": [version],
            "responses": {"200": json_response(ref("SyncConflicts")),
                          **errors("400", "403", "404", "409")},
        }},
    }
