"""The sync endpoints of every model: what `RemoteStore` speaks so that `replicate()` and `sync()`
work over HTTP exactly as between two local stores (docs/PROTOCOL.md describes them in full).

    GET  /api/{collection}/sync/changes?since=N&limit=M   a page of the feed after a checkpoint
    POST /api/{collection}/sync/apply                     bulk apply, one transaction
    POST /api/{collection}/sync/diff                      which changes the server lacks
    GET  /api/{collection}/sync/conflicts                 the conflicts the server recorded
    GET  /api/checkpoint                                  the store's current checkpoint

The answers of `changes`, `apply`, `diff` and `checkpoint` name the database (`"database"`, its
identity), so that a client whose checkpoints came from another one resyncs (`database_identity`).

Every body and answer carries `"protocol": 1`; `models/protocol/` reads and writes them, for
these endpoints and for `RemoteStore` alike. The server never trusts a client (rule 7 in
docs/ARCHITECTURE.md): `apply` runs the model's own merge and replicated-document check,
whatever the client ran, so an invalid document is `rejected` while the rest of its batch
applies. Anything that is not our protocol (a wrong version, a malformed doc) is refused before
anything is written.

Sync is per user (docs/AUTH.md): every endpoint needs a session and the model's REPLICATE
permission; `changes` returns only the documents the user may read (tombstones included, by
owner); `apply` runs the model's checks as that user, so a document they may not write is
`rejected` with ACCESS_DENIED while the rest of the batch applies; `diff` and `conflicts` never
mention another user's documents. A pushed document whose owner is no account of this server
comes from another server (a person moving their data): it is taken as the user's
(`adopt_foreign_owners`), and must then be new here or already theirs.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from models import protocol
from models.access import WRITE
from models.document import Document, with_owner
from models.errors import ModelVersionError
from models.migrations import migrate_document
from models.model import Model
from models.protocol import MAX_SYNC_LIMIT, MAX_SYNC_VALUES, SYNC_DEFAULT_LIMIT
from models.protocol.errors import InvalidDocError
from models.protocol.versions import (
    MAX_MODEL_VERSION,
    check_not_ahead,
    check_pull_version,
    read_version,
)
from models.stores import Store

from . import live, sharing
from .body import read_json_object
from .params import int_param
from .sessions import require_user
from .state import store_of, user_model


async def database_identity(store: Store) -> int | None:
    """The identity of the server's database, which every sync answer names (docs/PROTOCOL.md,
    "A server that changed"): made once, kept with the data."""
    return await store.identity()


async def checkpoint(request: Request) -> JSONResponse:
    """The store's current checkpoint and database (`RemoteStore.checkpoint`, `.identity`)."""
    store = store_of(request)
    require_user(request)
    database = await database_identity(store)  # first: a checkpoint is always of the one named
    return JSONResponse(protocol.checkpoint_answer(await store.checkpoint(), database))


class SyncAPI:
    """The sync endpoints of one collection."""

    def __init__(self, collection: str, max_body_bytes: int) -> None:
        self.collection = collection
        self.max_body_bytes = max_body_bytes

    async def model(self, request: Request) -> type[Model]:
        """The model acting for the request's user, who must be allowed to replicate, with
        their memberships read (rules that follow data decide every document alike)."""
        model = user_model(request, self.collection)
        model.check_replicate()
        return await model.resolved()

    async def changes(self, request: Request) -> JSONResponse:
        """A page of documents (tombstones too) written after `since`, oldest first."""
        model = await self.model(request)
        owner = model.feed_owner()
        if "protocol" in request.query_params:
            protocol.read_protocol_param(request.query_params["protocol"])
        since = int_param(request, "since", 0, 0, None)
        limit = int_param(request, "limit", SYNC_DEFAULT_LIMIT, 0, MAX_SYNC_LIMIT)
        # a client on an older model version must reload before it may read (409)
        check_pull_version(model, client_version(request))
        full = request.query_params.get("full", "").lower() in ("1", "true")
        store = store_of(request)
        database = await database_identity(store)
        # 410 when `since` is below the purge horizon, unless this is a full resync from 0
        docs = await store.feed(self.collection, since, limit, owner=owner,
                                **({"full": True} if full else {}))
        checkpoint = docs[-1].checkpoint if docs else since
        remaining = await store.pending(self.collection, checkpoint, owner)
        # documents owned by groups: the owners readable now, so that a device forgets the rest
        owners = owner if isinstance(owner, tuple) else None
        return JSONResponse(protocol.changes_answer(docs, checkpoint, remaining, database,
                                                    model.version, owners))

    async def apply(self, request: Request) -> JSONResponse:
        """Take a batch of revisions in one transaction, under this server's model rules."""
        model = await self.model(request)
        body = await read_json_object(request, self.max_body_bytes, max_values=MAX_SYNC_VALUES)
        docs = await adopt_foreign_owners(request, model, migrated_push(
            model, body, protocol.read_apply_request(self.collection, body)))
        store = store_of(request)
        database = await database_identity(store)
        # check_replicated of the user's model: WRITE on the incoming and the stored owner
        before = await sharing.before_write(store, model, [doc.id for doc in docs])
        accounts = await sharing.account_ids(request, model, [doc.id for doc in docs])

        def check(doc: Document, current: Document | None = None) -> dict | None:
            if doc.id in accounts:  # a group may not take an account's id (server/sharing.py)
                return model._denied(WRITE).to_dict()
            return model.check_replicated(doc, current)

        outcomes = await store.apply(self.collection, docs, merge=model.merge, check=check)
        written = [o.current for o in outcomes if o.status in live.WRITTEN]
        await sharing.reach_new_members(request, store, model, before, written)
        await live.notify(request, live.document_changes(self.collection, written))
        return JSONResponse(protocol.apply_answer(outcomes, await store.checkpoint(), database))

    async def diff(self, request: Request) -> JSONResponse:
        """Which of the client's changes this server lacks, and which would conflict. A document
        the user may not read is answered as if the server did not have it (`missing`)."""
        model = await self.model(request)
        body = await read_json_object(request, self.max_body_bytes, max_values=MAX_SYNC_VALUES)
        changes = protocol.read_diff_request(self.collection, body)
        store = store_of(request)
        hidden = set()
        for change in changes:
            doc = await store.get_any(self.collection, change.id)
            if doc is not None and not model.readable(doc):
                hidden.add(change.id)
        found = await store.diff(self.collection, [c for c in changes if c.id not in hidden])
        missing = set(found["missing"]) | hidden
        return JSONResponse(protocol.diff_answer([c.id for c in changes if c.id in missing],
                                                 found["conflicts"],
                                                 await database_identity(store)))

    async def conflicts(self, request: Request) -> JSONResponse:
        """Conflicts this server recorded (a push it could not merge), until a resolution
        descending from both revisions arrives."""
        model = await self.model(request)
        check_pull_version(model, client_version(request))
        pairs = [
            (mine, theirs) for mine, theirs in await store_of(request).conflicts(self.collection)
            if model.readable(mine or theirs)
        ]
        return JSONResponse(protocol.conflicts_answer(pairs))


def client_version(request: Request) -> int:
    """The model version a pull names in `?version=` (absent: 1; 400 when not a version)."""
    return int_param(request, "version", 1, 1, MAX_MODEL_VERSION)


def migrated_push(model: type[Model], body: dict, docs: list[Document]) -> list[Document]:
    """A push's docs under this server's model version: a client still on an older version (an
    offline tab that kept the old code) is migrated on arrival, then validated like any other,
    never refused for being old; one on a newer version is refused before anything is written
    (docs/PROTOCOL.md, "Model versions")."""
    version = read_version(body.get("version"))
    check_not_ahead(model, version)
    migrated = []
    for index, doc in enumerate(docs):
        try:
            migrated.append(migrate_document(model, doc, version))
        except ModelVersionError as exc:  # a body the step cannot read: not a doc of that version
            raise InvalidDocError(f"docs[{index}]: {exc.message}; nothing was written",
                                  {"index": index, "id": doc.id, "message": exc.message}
                                  ) from None
    return migrated


async def adopt_foreign_owners(request: Request, model: type[Model],
                               docs: list[Document]) -> list[Document]:
    """`docs` with every owner that names no account of this server mapped to the signed-in
    user. Such an owner is another server's id of the account (owners are each server's
    bookkeeping, docs/PROTOCOL.md "Owners"): a document new here becomes the user's, and one that
    exists must already be theirs, which `check_replicated` then checks on the stored owner, in
    the apply's transaction, with today's refusal. An owner that is an account here (someone
    else's) or none at all is left as it is, and refused as ever."""
    user = model.user_id
    if user is None or "owner" not in model.fields:
        return docs
    accounts = request.app.state.accounts

    groups = getattr(model, "groups", None)
    store = store_of(request)

    async def creator(doc: Document) -> str | None:
        """The user the doc names as its maker: its body's `owner` (a tombstone's, its merge
        base body's). A tombstone with neither names only its owner column, which for a model
        owned by groups is a group: one here (the user's, or another's, refused as ever) is
        never adopted, and only another server's is taken as the user's, as before."""
        body = doc.data if doc.data is not None else doc.base_data
        if body is not None:
            return body.get("owner")
        if groups is None or model.owned_by == "owner" or doc.owner is None:
            return doc.owner
        if doc.owner in (model.known_memberships(user) or {}) \
                or await store.get_any(groups.collection, doc.owner) is not None:
            return None
        return doc.owner

    creators = [await creator(doc) for doc in docs]
    foreign = {owner for owner in set(creators) - {None, user}
               if owner is not None and await accounts.get(owner) is None}
    return [with_owner(doc, user, model.adopted) if made_by in foreign else doc
            for doc, made_by in zip(docs, creators, strict=True)]


def routes(models: Mapping[str, type[Model]], max_body_bytes: int) -> list[BaseRoute]:
    out: list[BaseRoute] = [Route("/api/checkpoint", checkpoint, methods=["GET"])]
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
