"""A store that lives on an offsync (LoopBack-style REST) server, reached through a transport.

Writes carry the revision they are based on in `If-Match`, so the server refuses a stale write
with 409 exactly as a local store raises `ConflictError`. Error bodies come back as the same
`OffsyncError` classes the server raised (410 as `CheckpointExpiredError`, so `replicate()`
resyncs over HTTP as it does locally; a network failure as `TransportError`).

Replication speaks the sync protocol (docs/PROTOCOL.md), whose messages `models/protocol/`
encodes and checks for this client and the server alike: `feed`, `changes` and `pending` read
`GET /api/{model}/sync/changes`, `apply` posts one batch to `/sync/apply` (one request per page,
applied by the server in one transaction under its own model rules), `diff` and `conflicts` have
their own endpoints.

`identity()` is the server's database's (`GET /api/checkpoint`); every later sync answer names
the database that served it, and one naming another raises `DatabaseChangedError`: the server was
switched or restored under this replication.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .. import errors, protocol
from ..changes import Change
from ..document import Document
from ..errors import CheckpointExpiredError
from ..filters import Query
from ..migrations import migrate_documents, version_of
from ..outcome import Outcome
from ..protocol import ProtocolError
from ..transport import Response, Transport
from .store import Store

_ERRORS_BY_CODE = {
    cls.code: cls
    for cls in (
        errors.FilterError,
        errors.NotFoundError,
        errors.ConflictError,
        errors.AccessDeniedError,
        errors.StorageFullError,
        errors.CorruptEntryError,
        CheckpointExpiredError,
        errors.UpdateRequiredError,
        errors.VersionAheadError,
    )
}


class RemoteStore(Store):
    def __init__(self, transport: Transport, base_path: str = "/api",
                 models: Mapping[str, Any] | None = None) -> None:
        """`models`: the model classes by collection, whose versions this client declares
        (docs/PROTOCOL.md, "Model versions"); `models.MODELS` by default, and version 1 for a
        collection not among them."""
        self.transport = transport
        self.base_path = base_path.rstrip("/")
        self.database: int | None = None  # the identity the server last named (`identity()`)
        self._models = models
        self._owners: dict[str, tuple[str, ...] | None] = {}  # per model, from the last pull

    def model_class(self, model: str) -> Any:
        """The model class of `model` this client runs, or None."""
        if self._models is None:
            from ..registry import MODELS  # at call time: the registry imports the models
            self._models = MODELS
        return self._models.get(model)

    def version(self, model: str) -> int:
        return version_of(self.model_class(model)) if self.model_class(model) else 1

    def _check_database(self, found: int | None, where: str) -> None:
        """A sync answer from another database than the one named before: stop here."""
        if found is None:
            return
        if self.database is None:
            self.database = found
        elif found != self.database:
            raise errors.DatabaseChangedError(
                f"{where}: the server answered from database {found}, not {self.database} as "
                "when this replication began: sync again (it resyncs fully)",
                {"expected": str(self.database), "found": str(found)})

    def _url(self, model: str, *parts: str) -> str:
        return "/".join([self.base_path, model, *parts])

    async def _call(self, method: str, path: str, *, sync: bool = False, **kw: Any) -> Response:
        try:
            response = await self.transport(method, path, **kw)
        except errors.OffsyncError:
            raise
        except Exception as exc:  # the network, whatever the transport is built on
            raise errors.TransportError(f"{method} {path} failed: {exc}") from exc
        if response.status >= 400:
            raise _error_from(response, method, path, sync)
        return response

    @staticmethod
    def _doc(model: str, body: Any) -> Document:
        if not isinstance(body, dict) or "id" not in body:
            raise errors.TransportError(f"the server sent a {model} document without an id")
        data = {k: v for k, v in body.items() if k != "_rev"}
        return Document(model, data["id"], body.get("_rev") or "", 0, False, data)

    async def get_any(self, model: str, id: str) -> Document | None:
        try:
            response = await self._call("GET", self._url(model, id))
        except errors.NotFoundError:
            return None
        return self._doc(model, response.data)

    async def find(self, model: str, query: Query) -> list[Document]:
        response = await self._call("GET", self._url(model), params={"filter": filter_json(query)})
        if not isinstance(response.data, list):
            raise errors.TransportError(f"the server sent no list of {model}")
        return [self._doc(model, item) for item in response.data]

    async def count(self, model: str, query: Query) -> int:
        params = {"where": json.dumps(query.where)} if query.where else None
        response = await self._call("GET", self._url(model, "count"), params=params)
        return int(response.data["count"])

    async def write(
        self, model: str, id: str, data: dict | None, *, base_rev: str | None
    ) -> Document:
        headers = {"If-Match": base_rev} if base_rev else None
        if data is None:
            await self._call("DELETE", self._url(model, id), headers=headers)
            return Document(model, id, "", 0, True, None, history=(base_rev,) if base_rev else ())
        if base_rev is None:
            response = await self._call("POST", self._url(model), json=data)
        else:
            response = await self._call("PUT", self._url(model, id), json=data, headers=headers)
        return self._doc(model, response.data)

    # ---- replication (the sync protocol, `models/protocol/`) ------------------------------------
    async def _changes_page(self, model: str, since: int, limit: int, full: bool = False,
                            with_docs: bool = True) -> protocol.ChangesPage:
        path = self._url(model, "sync", "changes")
        response = await self._call("GET", path, sync=True,
                                    params=protocol.changes_params(
                                        since, limit, full, self.version(model)))
        page = protocol.read_changes_answer(model, response.data, path, with_docs=with_docs)
        self._check_database(page.database, f"GET {path}")
        self._owners[model] = page.owners
        return self._migrated(model, page, path)

    def _migrated(self, model: str, page: protocol.ChangesPage,
                  path: str) -> protocol.ChangesPage:
        """A page of an older model version (a server not yet updated) migrated here; one of a
        newer version than this code: UpdateRequiredError (a server that refuses the pull says
        so itself; this covers one that does not)."""
        mine = self.version(model)
        if page.version > mine:
            raise errors.UpdateRequiredError(
                f"GET {path}: the server sent version {page.version} documents, this code runs "
                f"version {mine}: reload to update",
                {"collection": model, "client_version": mine, "server_version": page.version})
        if page.version < mine and page.docs:
            docs = migrate_documents(self.model_class(model), page.docs, page.version)
            return replace(page, docs=docs)
        return page

    async def feed(
        self, model: str, since: int = 0, limit: int = 1000, *, full: bool = False
    ) -> list[Document]:
        """One request: at most `limit` documents (and at most MAX_SYNC_LIMIT, the server's
        page size) changed after `since`. Raises CheckpointExpiredError on 410, unless `full`
        says this is a full resync paging from 0 (see `Store.feed`)."""
        return (await self._changes_page(model, since, limit, full)).docs

    async def feed_counted(
        self, model: str, since: int, limit: int, *, full: bool = False,
    ) -> tuple[list[Document], int | None]:
        page = await self._changes_page(model, since, limit, full)
        return page.docs, int(page.remaining)

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        return [doc.change for doc in await self.feed(model, since, limit)]

    async def readable_owners(self, model: str) -> tuple[str, ...] | None:
        """The owners the last changes page of `model` said the user may read."""
        return self._owners.get(model)

    async def pending(self, model: str, since: int = 0,
                      owner: str | tuple[str, ...] | None = None) -> int:
        """How many documents changed after `since`: an empty page's `remaining` (the server
        already counts only what the signed-in user may read, whatever `owner` says)."""
        return int((await self._changes_page(model, since, 0, with_docs=False)).remaining)

    async def apply(
        self, model: str, docs: list[Document], *, merge: Any = None, check: Any = None,
        from_peer: bool = True, peer_current: bool = False,
    ) -> list[Outcome]:
        """One request, one server transaction. `merge`, `check` and `peer_current` are
        ignored: the server never trusts a client and applies its own model's rules."""
        if not docs:
            return []
        path = self._url(model, "sync", "apply")
        response = await self._call("POST", path, sync=True,
                                    json=protocol.apply_request(docs, self.version(model)))
        outcomes = protocol.read_apply_answer(model, response.data, len(docs), path)
        self._check_database(protocol.read_database(response.data, f"POST {path}"),
                             f"POST {path}")
        return outcomes

    async def diff(self, model: str, changes: list[Change]) -> dict[str, list[str]]:
        path = self._url(model, "sync", "diff")
        response = await self._call("POST", path, sync=True, json=protocol.diff_request(changes))
        found = protocol.read_diff_answer(response.data, path)
        self._check_database(protocol.read_database(response.data, f"POST {path}"),
                             f"POST {path}")
        return found

    async def mark_synced(self, model: str, docs: list[Document]) -> None:
        """Nothing to do. The server serves many clients, so it cannot keep one merge base per
        document for "the" peer; instead every pushed doc carries its own merge base
        (`base_rev`/`base_data`), and the server merges against that. The client records the
        base it shares with the server when it applies what it pulls."""

    async def note_sent(self, model: str, docs: list[Document]) -> None:
        """Nothing to keep: what a pull answer carries changes nothing on the server, so a lost
        one is simply read again."""

    async def saved_checkpoint(self, name: str) -> int | None:
        raise NotImplementedError("replication progress is kept in the local store, not here")

    async def save_checkpoint(self, name: str, checkpoint: int) -> None:
        raise NotImplementedError("replication progress is kept in the local store, not here")

    async def conflicts(self, model: str) -> list[tuple[Document | None, Document]]:
        """The conflicts the server recorded: (the server's document, the other revision)."""
        path = self._url(model, "sync", "conflicts")
        version = self.version(model)
        response = await self._call("GET", path, sync=True,
                                    **({"params": {"version": str(version)}} if version != 1
                                       else {}))
        return protocol.read_conflicts_answer(model, response.data, path)

    async def record_conflict(self, theirs: Document) -> None:
        raise NotImplementedError(
            "a RemoteStore cannot record a conflict: the server records its own when a push "
            "conflicts; record it in the local store (sync() does)"
        )

    async def purge_tombstones(self, model: str, through: int) -> int:
        raise NotImplementedError(
            "a server purges its own tombstones: run `offsync purge-tombstones` against its "
            "database")

    async def checkpoint(self) -> int:
        path = self._url("checkpoint")
        response = await self._call("GET", path)
        checkpoint, database = protocol.read_checkpoint_answer(response.data, path)
        self._check_database(database, f"GET {path}")
        return checkpoint

    async def identity(self) -> int | None:
        """The identity of the server's database now (None from an older server). Later sync
        answers must name the same one."""
        path = self._url("checkpoint")
        response = await self._call("GET", path)
        self.database = protocol.read_checkpoint_answer(response.data, path)[1]
        return self.database

    async def identity_and_checkpoint(self) -> tuple[int | None, int]:
        """Both from one `GET /api/checkpoint`: one round trip fewer at the start of each
        direction of a sync."""
        path = self._url("checkpoint")
        response = await self._call("GET", path)
        checkpoint, self.database = protocol.read_checkpoint_answer(response.data, path)
        return self.database, checkpoint


def filter_json(query: Query) -> str:
    raw: dict[str, Any] = {}
    if query.where:
        raw["where"] = query.where
    if query.order:
        raw["order"] = [f"{name} {'DESC' if desc else 'ASC'}" for name, desc in query.order]
    if query.limit is not None:
        raw["limit"] = query.limit
    if query.skip:
        raw["skip"] = query.skip
    return json.dumps(raw)


def _error_from(
    response: Response, method: str, path: str, sync: bool = False
) -> errors.OffsyncError:
    body = response.data if isinstance(response.data, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = error.get("message") or f"{method} {path} answered HTTP {response.status}"
    details = error.get("details") or {}
    code = error.get("code")
    if code == errors.ValidationError.code:
        exc = errors.ValidationError("document", details)
        exc.message = message
        exc.args = (message,)
        return exc
    cls = _ERRORS_BY_CODE.get(code)
    known = cls is not None
    if cls is None and sync and response.status in (400, 413, 415):
        cls = ProtocolError
    if cls is None:
        cls = {404: errors.NotFoundError, 409: errors.ConflictError, 403: errors.AccessDeniedError,
               400: errors.FilterError, 410: CheckpointExpiredError,
               401: errors.AuthenticationError}.get(
                   response.status, errors.TransportError)
    exc = cls(message, details)
    exc.status = response.status
    if not known and isinstance(code, str) and code:
        exc.code = code  # PROTOCOL_MISMATCH, PAYLOAD_TOO_LARGE...: what the server said
    return exc
