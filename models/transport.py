"""The HTTP seam: `models` never imports an HTTP library; the environment injects a transport.

On the server and in tests that is an httpx-based callable; in the browser, `web/` wraps `fetch`.
Any async callable with this signature works.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Response:
    status: int
    data: Any = None  # the parsed JSON body, or None when there was none
    headers: dict[str, str] = field(default_factory=dict)


class Transport(Protocol):
    def __call__(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Awaitable[Response]: ...
