"""A store that lives on an offsync (LoopBack-style REST) server, reached through a transport.

Writes carry the revision they are based on in `If-Match`, so the server refuses a stale write
with 409 exactly as a local store raises `ConflictError`. Error bodies come back as the same
`OffsyncError` classes the server raised.
"""

from __future__ import annotations

import json
from typing import Any

from .. import errors
from ..changes import Change
from ..filters import Query
from ..transport import Response, Transport
from .base import Document, Store

_ERRORS_BY_CODE = {
    cls.code: cls
    for cls in (
        errors.FilterError,
        errors.NotFoundError,
        errors.ConflictError,
        errors.AccessDeniedError,
        errors.StorageFullError,
        errors.CorruptEntryError,
    )
}


class RemoteStore(Store):
    def __init__(self, transport: Transport, base_path: str = "/api") -> None:
        self.transport = transport
        self.base_path = base_path.rstrip("/")

    def _url(self, model: str, *parts: str) -> str:
        return "/".join([self.base_path, model, *parts])

    async def _call(self, method: str, path: str, **kw: Any) -> Response:
        try:
            response = await self.transport(method, path, **kw)
        except errors.OffsyncError:
            raise
        except Exception as exc:  # the network, whatever the transport is built on
            raise errors.TransportError(f"{method} {path} failed: {exc}") from exc
        if response.status >= 400:
            raise _error_from(response, method, path)
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

    async def changes(self, model: str, since: int = 0, limit: int = 1000) -> list[Change]:
        response = await self._call(
            "GET", self._url(model, "changes"), params={"since": str(since), "limit": str(limit)}
        )
        return [Change.from_dict(item) for item in response.data["changes"]]

    async def checkpoint(self) -> int:
        response = await self._call("GET", self._url("checkpoint"))
        return int(response.data["checkpoint"])


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


def _error_from(response: Response, method: str, path: str) -> errors.OffsyncError:
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
    if cls is None:
        cls = {404: errors.NotFoundError, 409: errors.ConflictError, 403: errors.AccessDeniedError,
               400: errors.FilterError}.get(response.status, errors.TransportError)
    exc = cls(message, details)
    exc.status = response.status
    return exc
