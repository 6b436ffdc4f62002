"""The sync endpoints of every model: what `RemoteStore` speaks so that `replicate()` and `sync()`
work over HTTP exactly as between two local stores (docs/PROTOCOL.md describes them in full).

    GET  /api/{collection}/sync/changes?since=N&limit=M   a page of the feed after a checkpoint
    POST /api/{collection}/sync/apply                     bulk apply, one transaction
    POST /api/{collection}/sync/diff                      which changes the server lacks
    GET  /api/{collection}/sync/conflicts                 the conflicts the server recorded

Every body and answer carries `"protocol": 1`. The server never trusts a client
(rule 7 in docs/ARCHITECTURE.md):
`apply` runs the model's own merge and replicated-document check, whatever the client ran, so an
invalid document is `rejected` while the rest of its batch applies. Anything that is not our
protocol (a wrong version, a malformed doc) is refused before anything is written.

Sync is per user (docs/AUTH.md): every endpoint needs a session and the model's REPLICATE
permission; `changes` returns only the documents the user may read (tombstones included, by
owner); `apply` runs the model's checks as that user, so a document they may not write is
`rejected` with ACCESS_DENIED while the rest of the batch applies; `diff` and `conflicts` never
mention another user's documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from models.changes import Change, ChangeType
from models.document import MAX_WIRE_HISTORY, UNACKED_LIMIT, Document
from models.errors import OffsyncError
from models.limits import MAX_INTEGER, parse_ascii_int
from models.model import Model
from models.outcome import Outcome
from models.revisions import REVISION, REVISION_FORM, is_revision
from models.stores.remote import MAX_SYNC_DOCS, MAX_SYNC_LIMIT, PROTOCOL_VERSION

from .body import read_json_object
from .errors import InvalidBodyError, PayloadTooLargeError
from .rest import check_replicate, feed_owner, int_param, readable, store_of, user_model

DEFAULT_MAX_SYNC_BODY_BYTES = 16 * 1024 * 1024
# What one sync body may hold, counted before it is parsed (server/body.py): a wire doc is about
# 80 values (its keys, up to 51 history entries, the fields of data and base_data), so 128 each
# leaves room, and a body of millions of tiny items is refused before they exist.
MAX_VALUES_PER_DOC = 128
MAX_SYNC_VALUES = MAX_SYNC_DOCS * MAX_VALUES_PER_DOC + 64
SYNC_DEFAULT_LIMIT = 500


class ProtocolMismatchError(OffsyncError):
    """The request names another protocol version (or none): nothing was read or written."""

    status = 400
    code = "PROTOCOL_MISMATCH"


class InvalidDocError(OffsyncError):
    """One document of a batch is not a protocol doc; the whole batch was refused."""

    status = 400
    code = "INVALID_DOC"


class InvalidChangeError(OffsyncError):
    """One change sent to `diff` is not a `Change`."""

    status = 400
    code = "INVALID_CHANGE"


def check_protocol(value: Any) -> None:
    if value == PROTOCOL_VERSION and not isinstance(value, bool):
        return
    got = "no protocol" if value is None else f"protocol {value!r}"
    raise ProtocolMismatchError(
        f"this server speaks sync protocol {PROTOCOL_VERSION}, the request names {got}: "
        f'send "protocol": {PROTOCOL_VERSION} (update the client if it is older)',
        {"supported": [PROTOCOL_VERSION], "got": value},
    )


def items_of(body: dict[str, Any], key: str) -> list[Any]:
    """`body[key]` as a list of at most MAX_SYNC_DOCS items."""
    check_protocol(body.get("protocol"))
    items = body.get(key)
    if not isinstance(items, list):
        raise InvalidBodyError(f"{key} must be an array", {key: ["must be an array"]})
    if len(items) > MAX_SYNC_DOCS:
        raise PayloadTooLargeError(
            f"{len(items)} {key} in one request; send at most {MAX_SYNC_DOCS} per request",
            {"max_items": MAX_SYNC_DOCS, "items": len(items)},
        )
    return items


def check_change(raw: Any) -> None:
    """Raise ValueError (KeyError for a missing key) unless `raw` is a Change as `diff` takes
    it: the same revision rules as a wire doc, a checkpoint a store can hold."""
    if not isinstance(raw, dict):
        raise ValueError("a change must be an object")
    for key in ("id", "rev", "checkpoint", "type"):
        if key not in raw:
            raise KeyError(key)
    if not isinstance(raw["id"], str) or not raw["id"]:
        raise ValueError("change.id must be a non-empty string")
    if not is_revision(raw["rev"]):
        raise ValueError(f"change.rev must be a revision: {REVISION_FORM}")
    prev = raw.get("prev")
    if prev is not None and not is_revision(prev):
        raise ValueError(f"change.prev must be a revision ({REVISION_FORM}) or null")
    history = raw.get("history") or []
    if not isinstance(history, list) or not all(is_revision(rev) for rev in history):
        raise ValueError(f"change.history must be a list of revisions: {REVISION_FORM}")
    if len(history) > MAX_WIRE_HISTORY:
        raise ValueError(f"change.history has {len(history)} revisions; at most "
                         f"{MAX_WIRE_HISTORY}")
    checkpoint = raw["checkpoint"]
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or not (
        0 <= checkpoint <= MAX_INTEGER
    ):
        raise ValueError("change.checkpoint must be an integer from 0 to 2^63-1")
    if raw["type"] not in [kind.value for kind in ChangeType]:
        raise ValueError("change.type must be create, update or delete")


def outcome_body(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "rev": outcome.rev,
        "status": outcome.status,
        "current": outcome.current.to_wire() if outcome.current is not None else None,
        "error": outcome.error,
    }


class SyncAPI:
    """The sync endpoints of one collection."""

    def __init__(self, collection: str, max_body_bytes: int) -> None:
        self.collection = collection
        self.max_body_bytes = max_body_bytes

    def model(self, request: Request) -> type[Model]:
        """The model acting for the request's user, who must be allowed to replicate."""
        model = user_model(request, self.collection)
        check_replicate(model)
        return model

    async def changes(self, request: Request) -> JSONResponse:
        """A page of documents (tombstones too) written after `since`, oldest first."""
        model = self.model(request)
        owner = feed_owner(model)
        if "protocol" in request.query_params:
            raw = request.query_params["protocol"]
            number = parse_ascii_int(raw)  # never int(): it reads '²' as a digit and then fails
            check_protocol(number if number is not None else raw)
        since = int_param(request, "since", 0, 0, None)
        limit = int_param(request, "limit", SYNC_DEFAULT_LIMIT, 0, MAX_SYNC_LIMIT)
        full = request.query_params.get("full", "").lower() in ("1", "true")
        store = store_of(request)
        # 410 when `since` is below the purge horizon, unless this is a full resync from 0
        docs = await store.feed(self.collection, since, limit, owner=owner,
                                **({"full": True} if full else {}))
        checkpoint = docs[-1].checkpoint if docs else since
        return JSONResponse({
            "protocol": PROTOCOL_VERSION,
            "docs": [doc.to_wire() for doc in docs],
            "checkpoint": checkpoint,
            "remaining": await store.pending(self.collection, checkpoint, owner),
        })

    async def apply(self, request: Request) -> JSONResponse:
        """Take a batch of revisions in one transaction, under this server's model rules."""
        model = self.model(request)
        body = await read_json_object(request, self.max_body_bytes, max_values=MAX_SYNC_VALUES)
        docs = []
        for index, raw in enumerate(items_of(body, "docs")):
            try:
                docs.append(Document.from_wire(self.collection, raw))
            except ValueError as exc:
                id = raw.get("id") if isinstance(raw, dict) else None
                raise InvalidDocError(
                    f"docs[{index}] is not a protocol doc: {exc}; nothing was written",
                    {"index": index, "id": id if isinstance(id, str) else None,
                     "message": str(exc)},
                ) from None
        store = store_of(request)
        # check_replicated of the user's model: WRITE on the incoming and the stored owner
        outcomes = await store.apply(self.collection, docs, merge=model.merge,
                                     check=model.check_replicated)
        return JSONResponse({
            "protocol": PROTOCOL_VERSION,
            "results": [outcome_body(outcome) for outcome in outcomes],
            "checkpoint": await store.checkpoint(),
        })

    async def diff(self, request: Request) -> JSONResponse:
        """Which of the client's changes this server lacks, and which would conflict. A document
        the user may not read is answered as if the server did not have it (`missing`)."""
        model = self.model(request)
        body = await read_json_object(request, self.max_body_bytes, max_values=MAX_SYNC_VALUES)
        changes = []
        for index, raw in enumerate(items_of(body, "changes")):
            try:
                check_change(raw)
                change = Change.from_dict({**raw, "model": self.collection})
            except KeyError as exc:
                raise InvalidChangeError(
                    f"changes[{index}] has no {exc.args[0]!r}",
                    {"index": index, "message": f"missing {exc.args[0]!r}"},
                ) from None
            except (ValueError, TypeError) as exc:
                raise InvalidChangeError(
                    f"changes[{index}] is not a change: {exc}",
                    {"index": index, "message": str(exc)},
                ) from None
            changes.append(change)
        store = store_of(request)
        hidden = set()
        for change in changes:
            doc = await store.get_any(self.collection, change.id)
            if doc is not None and not readable(model, doc):
                hidden.add(change.id)
        found = await store.diff(self.collection, [c for c in changes if c.id not in hidden])
        missing = set(found["missing"]) | hidden
        return JSONResponse({
            "protocol": PROTOCOL_VERSION,
            "missing": [c.id for c in changes if c.id in missing],
            "conflicts": found["conflicts"],
        })

    async def conflicts(self, request: Request) -> JSONResponse:
        """Conflicts this server recorded (a push it could not merge), until a resolution
        descending from both revisions arrives."""
        model = self.model(request)
        pairs = [
            (mine, theirs) for mine, theirs in await store_of(request).conflicts(self.collection)
            if readable(model, mine or theirs)
        ]
        return JSONResponse({
            "protocol": PROTOCOL_VERSION,
            "conflicts": [
                {"mine": mine.to_wire() if mine is not None else None, "theirs": theirs.to_wire()}
                for mine, theirs in pairs
            ],
        })


def routes(models: Mapping[str, type[Model]], max_body_bytes: int) -> list[BaseRoute]:
    out: list[BaseRoute] = []
    for collection in models:
        api = SyncAPI(collection, max_body_bytes)
        base = f"/api/{collection}/sync"
        out += [
            Route(f"{base}/changes", api.changes, methods=["GET"],
                  name=f"{collection}.sync_changes"),
            Route(f"{base}/apply", api.apply, methods=["POST"], name=f"{collection}.sync_apply"),
            Route(f"{base}/diff", api.diff, methods=["POST"], name=f"{collection}.sync_diff"),
            Route(f"{base}/conflicts", api.conflicts, methods=["GET"],
                  name=f"{collection}.sync_conflicts"),
        ]
    return out


# ---- the OpenAPI description (merged into /openapi.json by server/openapi.py) ------------------

def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


_PROTOCOL = {"const": PROTOCOL_VERSION, "description": "The sync protocol version"}
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
        "allOf": [_ref("SyncDoc")], "unevaluatedProperties": False,
        "required": ["id", "rev", "history", "deleted", "data", "type", "checkpoint", "base_rev",
                     "owner"],
        "description": "A wire doc as the server sends it: every field (base_data only when "
                       "base_rev != rev), nothing else",
    },
    "SyncChangesPage": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "docs": {"type": "array", "items": _ref("SyncDocSent")},
        "checkpoint": {"type": "integer",
                       "description": "The last doc's checkpoint (or since): the next since"},
        "remaining": {"type": "integer", "description": "Documents changed after checkpoint"},
    }},
    "SyncApplyRequest": {"type": "object", "required": ["protocol", "docs"], "properties": {
        "protocol": _PROTOCOL,
        "docs": {"type": "array", "maxItems": MAX_SYNC_DOCS, "items": _ref("SyncDoc")},
    }},
    "SyncOutcome": {"type": "object", "properties": {
        "id": {"type": "string"},
        "rev": {"type": "string", "description": "The revision that was sent"},
        "status": {"enum": ["applied", "unchanged", "merged", "conflict", "rejected"]},
        "current": {"oneOf": [_ref("SyncDocSent"), {"type": "null"}],
                    "description": "The server's document after (for a conflict: as it is)"},
        "error": {"type": ["object", "null"], "description": "Why a doc was rejected"},
    }},
    "SyncApplyResponse": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "results": {"type": "array", "items": _ref("SyncOutcome"),
                    "description": "One per doc sent, in the same order"},
        "checkpoint": {"type": "integer", "description": "The server's checkpoint after"},
    }},
    "SyncDiffRequest": {"type": "object", "required": ["protocol", "changes"], "properties": {
        "protocol": _PROTOCOL,
        "changes": {"type": "array", "maxItems": MAX_SYNC_DOCS, "items": _ref("Change")},
    }},
    "SyncDiffResponse": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "missing": {"type": "array", "items": {"type": "string"},
                    "description": "Ids the server lacks (pushing them fast-forwards)"},
        "conflicts": {"type": "array", "items": {"type": "string"},
                      "description": "Ids where both sides moved on (merge or conflict)"},
    }},
    "SyncConflicts": {"type": "object", "properties": {
        "protocol": _PROTOCOL,
        "conflicts": {"type": "array", "items": {"type": "object", "properties": {
            "mine": {"oneOf": [_ref("SyncDocSent"), {"type": "null"}],
                     "description": "The server's document"},
            "theirs": _ref("SyncDocSent"),
        }}},
    }},
}

EXAMPLE_DOC = {
    "id": "abc123", "rev": "1-" + "0" * 32, "history": [], "deleted": False,
    "data": {"id": "abc123", "title": "Buy milk", "completed": False}, "type": "create",
    "checkpoint": 1, "base_rev": None,
}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {s: {"$ref": f"#/components/responses/Error{s}"} for s in statuses}


def spec_paths(collection: str) -> dict[str, Any]:
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

    def body(schema: str, example: dict[str, Any]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {
            "schema": _ref(schema), "example": example}}}

    return {
        f"{base}/changes": {"get": {
            "summary": f"Pull: {collection} documents (tombstones too) written after a checkpoint",
            "description": "Oldest first, one document once (its newest revision). Pass the "
                           "returned checkpoint as since for the next page until docs is empty.",
            "operationId": f"{collection}.sync_changes", "tags": tags,
            "parameters": [since, limit, full, protocol],
            "responses": {"200": _json(_ref("SyncChangesPage")),
                          **_errors("400", "403", "404", "410")},
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
            "responses": {"200": _json(_ref("SyncApplyResponse")),
                          **_errors("400", "403", "404", "413", "415")},
        }},
        f"{base}/diff": {"post": {
            "summary": f"Which {collection} changes the server lacks, and which would conflict",
            "operationId": f"{collection}.sync_diff", "tags": tags,
            "requestBody": body("SyncDiffRequest", {"protocol": PROTOCOL_VERSION, "changes": [{
                "model": collection, "id": "abc123", "rev": EXAMPLE_DOC["rev"], "prev": None,
                "checkpoint": 1, "type": "create", "history": []}]}),
            "responses": {"200": _json(_ref("SyncDiffResponse")),
                          **_errors("400", "403", "404", "413", "415")},
        }},
        f"{base}/conflicts": {"get": {
            "summary": f"Conflicts the server recorded for {collection}, until resolved",
            "operationId": f"{collection}.sync_conflicts", "tags": tags,
            "responses": {"200": _json(_ref("SyncConflicts")), **_errors("403", "404")},
        }},
    }
