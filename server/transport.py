"""`models.transport.Transport` over an `httpx.AsyncClient`: RemoteStore on CPython.

Used by the tests (with `httpx.ASGITransport`, no network) and by the CLI to reach a server.
The session travels as the client's cookies; `headers` (e.g. `X-CSRF-Token`) go with every
request, on top of the client's own default headers.
"""

from __future__ import annotations

from typing import Any

import httpx

from models.transport import Response


class HttpxTransport:
    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = dict(headers or {})

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        response = await self.client.request(
            method, path, params=params, json=json, headers={**self.headers, **(headers or {})}
        )
        data: Any = None
        if response.content:
            try:
                data = response.json()
            except ValueError:
                data = None  # not our protocol (a proxy's HTML page); the status still tells
        return Response(response.status_code, data, dict(response.headers))
