"""The real app on one SQLite file, behind a front that can lose answers, and restartable.

`FlakyFront` is an ASGI app in front of the real one: every request reaches the server and is
handled in full (committed), and then, when a rule says so, the answer is dropped and the caller's
request fails, as with a dropped connection or a server killed between its commit and its reply.
It also counts the documents that cross it (sent in `sync/apply` bodies, received in
`sync/changes` pages). `RestartableApp` stops the app and starts a new one on the same database
file (a server restart between two requests; sessions live in the database, so clients stay
signed in). Used through `httpx.ASGITransport`, so no port and no timing is involved.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from models import RemoteStore
from server.app import create_app
from server.transport import HttpxTransport

from .auth_helpers import Account, log_in, sign_up

PAGE_PATHS = ("/sync/apply", "/sync/changes")


class AnswerLost(ConnectionError):
    """What the caller sees when the front drops an answer (`RemoteStore` makes it a
    `TransportError`)."""


class FlakyFront:
    def __init__(self) -> None:
        self.app: Any = None
        self.fail_every: int | None = None  # lose every n-th page answer (apply, changes page)
        self.lose: list[str] = []  # lose the next answer to a path containing each of these
        self.lose_page_at: int | None = None  # lose the n-th page answer from now
        self.pages = 0
        self.lost = 0
        self.pushed = 0  # docs in sync/apply bodies that reached the server
        self.pulled = 0  # docs in sync/changes pages the server answered (lost ones included)
        self.requests: list[str] = []  # "METHOD /path?query" of every HTTP request, in order

    def _page(self, scope: dict) -> bool:
        path = scope.get("path", "")
        if path.endswith("/sync/apply"):
            return True
        return path.endswith("/sync/changes") and b"limit=0" not in scope.get("query_string", b"")

    def _drop(self, scope: dict) -> bool:
        path = scope.get("path", "")
        for part in self.lose:
            if part in path:
                self.lose.remove(part)
                return True
        if not self._page(scope):
            return False
        self.pages += 1
        if self.lose_page_at is not None:
            self.lose_page_at -= 1
            if self.lose_page_at <= 0:
                self.lose_page_at = None
                return True
        return bool(self.fail_every) and self.pages % self.fail_every == 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode()
        self.requests.append(f"{scope['method']} {scope['path']}" + (f"?{query}" if query else ""))
        drop = self._drop(scope)
        request_body: list[bytes] = []
        answer: list[bytes] = []

        async def reading() -> dict:
            message = await receive()
            request_body.append(message.get("body", b""))
            return message

        async def answering(message: dict) -> None:
            if message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
            if not drop:
                await send(message)

        await self.app(scope, reading, answering)
        self._count(scope, b"".join(request_body), b"".join(answer))
        if drop:
            self.lost += 1
            raise AnswerLost(f"the answer to {scope['method']} {scope['path']} was lost "
                             "(the server handled the request)")

    def _count(self, scope: dict, sent: bytes, answer: bytes) -> None:
        path = scope.get("path", "")
        try:
            if path.endswith("/sync/apply"):
                self.pushed += len(json.loads(sent).get("docs", []))
            elif path.endswith("/sync/changes"):
                self.pulled += len(json.loads(answer).get("docs", []))
        except (ValueError, AttributeError):
            pass  # not a sync body: nothing to count


class RestartableApp:
    """The app on `path`, started, and restarted on the same file when asked."""

    def __init__(self, path: str, **options: Any) -> None:
        self.path = path
        self.options = options
        self.front = FlakyFront()
        self.restarts = 0
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        app = create_app(f"sqlite:///{self.path}", **self.options)
        self._stack = contextlib.AsyncExitStack()
        await self._stack.enter_async_context(app.router.lifespan_context(app))
        self.front.app = app

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def restart(self) -> None:
        """Stop the server (its database connection closes) and start a new one on the file."""
        await self.stop()
        await self.start()
        self.restarts += 1

    @property
    def store(self):
        return self.front.app.state.store

    @contextlib.asynccontextmanager
    async def client(self, account: Account | None = None
                     ) -> AsyncIterator[tuple[RemoteStore, Account]]:
        """A signed-in `RemoteStore` through the front (a new account unless one is given)."""
        transport = httpx.ASGITransport(app=self.front)
        async with httpx.AsyncClient(transport=transport, base_url="http://offsync.test") as http:
            account = await (sign_up(http) if account is None else log_in(http, account))
            yield RemoteStore(HttpxTransport(http)), account


@contextlib.asynccontextmanager
async def running(path: str, **options: Any) -> AsyncIterator[RestartableApp]:
    server = RestartableApp(path, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
