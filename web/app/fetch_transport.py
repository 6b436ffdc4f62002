"""The browser's HTTP transport for `models.RemoteStore`: `fetch`, plus the app's offline switch.

While the app is switched offline, every request fails at once with `TransportError` and nothing
touches the network (LoopBack's offline mode kept talking to the server).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import js
from pyodide.ffi import to_js

from models import Response, TransportError


class FetchTransport:
    def __init__(self) -> None:
        self.enabled = True

    async def __call__(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if not self.enabled:
            raise TransportError("the app is offline: sync is switched off")
        url = path + ("?" + urlencode(params) if params else "")
        sent = {"Accept": "application/json", **(headers or {})}
        if method not in ("GET", "HEAD") and (token := csrf_token()):
            sent["X-CSRF-Token"] = token  # the session cookie alone is never enough to write
        init: dict[str, Any] = {"method": method, "headers": sent, "cache": "no-store"}
        if json is not None:
            sent["Content-Type"] = "application/json"
            init["body"] = _dumps(json)
        try:
            response = await js.fetch(url, to_js(init, dict_converter=js.Object.fromEntries))
            text = await response.text()
        except Exception as exc:  # a network failure surfaces as a JS TypeError
            raise TransportError(f"{method} {path}: the server could not be reached") from exc
        return Response(response.status, _loads(text, response.status), {})


def csrf_token() -> str:
    """The CSRF token the server set in the (script-readable) `offsync_csrf` cookie."""
    for part in str(js.document.cookie).split(";"):
        name, _, value = part.strip().partition("=")
        if name == "offsync_csrf":
            return value
    return ""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _loads(text: str, status: int) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise TransportError(
            f"the server answered HTTP {status} with something that is not JSON") from None
