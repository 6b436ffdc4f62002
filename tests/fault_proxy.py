"""A reverse proxy on loopback that loses answers and kills the server, on purpose.

Clients talk to the proxy (real sockets, HTTP/1.1 parsed with h11); the proxy forwards each
request to wherever the server listens now, on a fresh upstream connection, and asks `decide` what
to do with it:

- `PASS`: forward, relay the answer;
- `DROP`: forward, read the whole answer (the server has applied the request and committed), then
  close the client's connection without sending it, as a dropped connection on the way back does;
- `TRUNCATE`: the same, but the status line, the headers and half the body get through first;
- `KILL_BEFORE`: `kill -9` the server before the request reaches it;
- `KILL_DURING`: forward, then kill the server after `delay` seconds, wherever it is by then;
- `KILL_AFTER`: read the whole answer, then kill the server and drop the answer (the server died
  between its commit and its reply).

Every kill drops the answer. While the server is down (`upstream()` returns None, or nothing
listens) the client's connection is closed, as a proxy with no backend would. The proxy counts
what it did (`stats`) and keeps every 5xx it relayed (`server_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11

MAX_BODY = 64 * 1024 * 1024


class Fault(enum.Enum):
    PASS = "pass"
    DROP = "drop"
    TRUNCATE = "truncate"
    KILL_BEFORE = "kill-before"
    KILL_DURING = "kill-during"
    KILL_AFTER = "kill-after"


@dataclass(frozen=True)
class Decision:
    fault: Fault = Fault.PASS
    delay: float = 0.0  # for KILL_DURING


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    target: str
    body: bytes

    @property
    def kind(self) -> str:
        """push, pull, rest-write, rest-read, auth or other: what the fault policies choose by."""
        if self.path.endswith("/sync/apply"):
            return "push"
        if self.path.endswith("/sync/changes"):
            return "pull"
        if self.path.startswith("/api/auth/"):
            return "auth"
        if self.path.startswith("/api/todos"):
            return "rest-read" if self.method == "GET" else "rest-write"
        return "other"


@dataclass
class ProxyStats:
    requests: Counter = field(default_factory=Counter)  # by kind
    faults: Counter = field(default_factory=Counter)  # by (kind, fault)
    statuses: Counter = field(default_factory=Counter)
    refused: int = 0  # requests that found no server listening

    def count(self, fault: Fault, kind: str | None = None) -> int:
        return sum(n for (k, f), n in self.faults.items()
                   if f is fault and (kind is None or k == kind))

    @property
    def kills(self) -> int:
        return sum(self.count(f) for f in (Fault.KILL_BEFORE, Fault.KILL_DURING, Fault.KILL_AFTER))

    @property
    def answers_lost(self) -> int:
        """Answers the client never got although the request reached the server."""
        return sum(self.count(f) for f in (Fault.DROP, Fault.TRUNCATE, Fault.KILL_DURING,
                                           Fault.KILL_AFTER))


Decide = Callable[[Request], Decision]


class FaultProxy:
    def __init__(self, upstream: Callable[[], int | None],
                 decide: Decide = lambda request: Decision(),
                 kill: Callable[[], Awaitable[None]] | None = None) -> None:
        self.upstream = upstream
        self.decide = decide
        self.kill = kill
        self.stats = ProxyStats()
        self.server_errors: list[tuple[str, str, int, bytes]] = []  # method, target, status, body
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):  # their handlers read EOF and end
                writer.close()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    # ---- one client connection ------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_BODY)
        try:
            while True:
                request = await self._read_request(conn, reader)
                if request is None:
                    return
                answer = await self._handle(request)
                if answer is None:
                    return  # the connection closes without an answer
                response, body, truncate = answer
                writer.write(conn.send(response) or b"")
                if truncate:
                    writer.write(conn.send(h11.Data(data=body[: len(body) // 2])) or b"")
                    await writer.drain()
                    return
                writer.write(conn.send(h11.Data(data=body)) or b"")
                writer.write(conn.send(h11.EndOfMessage()) or b"")
                await writer.drain()
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._handlers.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(self, conn: h11.Connection,
                            reader: asyncio.StreamReader) -> tuple[h11.Request, bytes] | None:
        head, body = None, bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return head, bytes(body)
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    async def _handle(self, raw: tuple[h11.Request, bytes]
                      ) -> tuple[h11.Response, bytes, bool] | None:
        head, body = raw
        target = head.target.decode("latin-1")
        request = Request(head.method.decode("ascii"), target.split("?", 1)[0], target, body)
        kind = request.kind
        self.stats.requests[kind] += 1
        port = self.upstream()
        if port is None:
            self.stats.refused += 1  # no decision taken: a seeded policy stays reproducible
            return None
        decision = self.decide(request)
        if decision.fault is not Fault.PASS:
            self.stats.faults[(kind, decision.fault)] += 1
        if decision.fault is Fault.KILL_BEFORE:
            await self._kill()
            return None
        exchange = asyncio.ensure_future(self._exchange(port, head, body))
        if decision.fault is Fault.KILL_DURING:
            await asyncio.wait([exchange], timeout=decision.delay)
            await self._kill()
            with contextlib.suppress(Exception):
                await exchange  # the answer, if any came, is dropped all the same
            return None
        try:
            response, answer = await exchange
        except OSError:
            self.stats.refused += 1
            return None
        self.stats.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append((request.method, target, response.status_code, answer))
        if decision.fault is Fault.KILL_AFTER:
            await self._kill()
            return None
        if decision.fault is Fault.DROP:
            return None
        return response, answer, decision.fault is Fault.TRUNCATE

    async def _kill(self) -> None:
        if self.kill is not None:
            await self.kill()

    async def _exchange(self, port: int, head: h11.Request,
                        body: bytes) -> tuple[h11.Response, bytes]:
        """One request on a fresh connection to the server; the whole answer."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_BODY)
        try:
            headers = [(k, v) for k, v in head.headers if k.lower() != b"connection"]
            writer.write(conn.send(h11.Request(method=head.method, target=head.target,
                                               headers=[*headers, (b"connection", b"close")])))
            if body:
                writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            response, answer = None, bytearray()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    answer += event.data
                elif isinstance(event, h11.EndOfMessage):
                    assert response is not None
                    return _relayable(response, len(answer)), bytes(answer)
                elif isinstance(event, h11.ConnectionClosed):
                    raise ConnectionResetError("the server closed before its answer ended")
        except h11.ProtocolError as exc:
            raise ConnectionResetError(f"not HTTP from the server: {exc}") from None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _relayable(response: h11.Response, length: int) -> h11.Response:
    """The server's answer for the client's connection: kept alive, framed by its length."""
    headers = [(k, v) for k, v in response.headers if k.lower() != b"connection"]
    if any(k.lower() == b"transfer-encoding" for k, _ in headers):
        headers = [(k, v) for k, v in headers if k.lower() != b"transfer-encoding"]
        headers.append((b"content-length", str(length).encode()))
    return h11.Response(status_code=response.status_code, headers=headers,
                        reason=response.reason)
