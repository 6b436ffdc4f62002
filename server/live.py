"""Live updates: the per-process fan-out of "your data changed" to open change streams.

    GET /api/changes/stream    Server-Sent Events (sse-starlette), one per signed-in browser

A stream is a poke, never data: `event: change` with `data: {"checkpoint": N}` when a document
the user may read was written, and nothing else (no ids, no owners, no other user's anything).
Its first event is the store's current checkpoint (what `GET /api/checkpoint` answers), so a
client that reconnects pulls once and has caught up. The client then pulls as usual: the pull
stays the one way data arrives, so every guarantee of the protocol holds (docs/PROTOCOL.md).

`LiveHub` keeps the open streams of this process by user. Writers call `changed` after their
transaction committed (sync `apply`, REST create/replace/update/delete); the hub pokes its own
streams at once and hands the change to its `Relay`, which tells every other process on the
database (PostgreSQL: `server/postgres/live.py`, LISTEN/NOTIFY) and feeds theirs back to
`deliver`. SQLite runs one process: its relay tells no one. A stream ends when its session does:
at log-out (`session_ended`, relayed too), or when the check every `SESSION_CHECK_SECONDS`
finds the session gone or expired.

A poke waiting for a slow client is coalesced into one (the highest checkpoint), so an open
stream holds a constant amount of memory however many writes happen.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from models.access import READ, is_allowed
from models.document import Document
from models.memberships import known_memberships, memberships_in
from models.model import Model
from models.stores import Store

from .sessions import current_session, require_user
from .state import store_of

PING_SECONDS = 15  # a comment line keeps proxies and the browser from timing the stream out
SESSION_CHECK_SECONDS = 15  # how late a stream notices a session that expired or ended elsewhere
WRITTEN = ("applied", "merged")  # the outcomes of a push that changed what a pull answers


@dataclass(frozen=True)
class Change:
    """A document of `collection` owned by `owner` (None: no owner) reached `checkpoint`."""

    collection: str
    owner: str | None
    checkpoint: int

    def payload(self) -> dict[str, Any]:
        return {"collection": self.collection, "owner": self.owner,
                "checkpoint": self.checkpoint}


@dataclass(eq=False)
class Stream:
    """One open stream: who it serves and the poke waiting to be sent (coalesced)."""

    user_id: str
    session_hash: str
    waiting: int | None = None
    ended: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def poke(self, checkpoint: int) -> None:
        self.waiting = checkpoint if self.waiting is None else max(self.waiting, checkpoint)
        self.wake.set()

    def end(self) -> None:
        self.ended = True
        self.wake.set()

    def take(self) -> int | None:
        waiting, self.waiting = self.waiting, None
        self.wake.clear()
        return waiting


class Relay:
    """How a process tells the others on its database. This one tells no one (one process)."""

    async def start(self, deliver: Callable[[dict[str, Any]], None]) -> None:
        """Begin handing the other processes' messages to `deliver`."""

    async def publish(self, message: dict[str, Any]) -> None:
        """Tell every other process (`message` is small JSON)."""

    async def stop(self) -> None:
        """Stop listening."""


RELAYS: dict[type, Callable[[Store], Relay]] = {}  # store class -> the relay of its database


def register_relay(store_class: type, relay: Callable[[Store], Relay]) -> None:
    """Let the stores of `store_class` (and subclasses) reach other processes through `relay`."""
    RELAYS[store_class] = relay


def relay_of(store: Store) -> Relay:
    for cls in type(store).__mro__:
        if cls in RELAYS:
            return RELAYS[cls](store)
    return Relay()


def may_read(model: type[Model], user_id: str, owner: str | None,
             store: Store | None = None) -> bool:
    """Whether `user_id` may read a document of `model` owned by `owner` (the model's rules),
    with the memberships `store` last read (a list's members are poked too)."""
    acting = model.as_user(user_id)
    if not acting.enforce_access:
        return True
    if store is not None and acting.groups is not None:
        memberships = known_memberships(store, acting.groups, user_id)
        return is_allowed(acting.acl, READ, user_id=user_id, owner_id=owner,
                          memberships=memberships)
    return acting.can(READ, user_id=user_id, owner_id=owner)


class LiveHub:
    """The open streams of this process, and the relay to the other processes."""

    def __init__(self, models: Mapping[str, type[Model]], relay: Relay,
                 store: Store | None = None) -> None:
        self.models = models
        self.relay = relay
        self.store = store  # whose memberships decide who reads a group's documents
        self.origin = secrets.token_hex(8)  # this process's own relayed messages come back
        self.streams: dict[str, set[Stream]] = {}

    async def start(self) -> None:
        await self.relay.start(self.deliver)

    async def stop(self) -> None:
        await self.relay.stop()
        for streams in list(self.streams.values()):
            for stream in streams:
                stream.end()

    def open(self, user_id: str, session_hash: str) -> Stream:
        stream = Stream(user_id, session_hash)
        self.streams.setdefault(user_id, set()).add(stream)
        return stream

    def close(self, stream: Stream) -> None:
        streams = self.streams.get(stream.user_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self.streams[stream.user_id]

    def count(self) -> int:
        return sum(len(streams) for streams in self.streams.values())

    # ---- what writers call, after their transaction committed ---------------------------------
    async def changed(self, changes: Iterable[Change]) -> None:
        """Poke the streams whose user may read one of `changes`, here and in every process."""
        latest: dict[tuple[str, str | None], Change] = {}
        for change in changes:
            key = (change.collection, change.owner)
            if key not in latest or latest[key].checkpoint < change.checkpoint:
                latest[key] = change
        if self.store is not None:  # memberships current before deciding whom to poke
            for group in {m.groups for m in self.models.values()
                          if getattr(m, "groups", None) is not None}:
                await memberships_in(self.store, group, None)
        for change in latest.values():
            self._poke(change)
            await self.relay.publish({"origin": self.origin, **change.payload()})

    async def session_ended(self, session_hash: str) -> None:
        """A log-out: end that session's streams, here and in every process."""
        self._end_session(session_hash)
        await self.relay.publish({"origin": self.origin, "ended": session_hash})

    # ---- what the relay hands back from other processes ---------------------------------------
    def deliver(self, message: dict[str, Any]) -> None:
        """A message another process published (this process's own are skipped: done already)."""
        if message.get("origin") == self.origin:
            return
        if isinstance(message.get("ended"), str):
            self._end_session(message["ended"])
            return
        if message.get("everyone") is True and isinstance(message.get("checkpoint"), int):
            for streams in self.streams.values():
                for stream in streams:
                    stream.poke(message["checkpoint"])
            return
        collection, owner, checkpoint = (message.get("collection"), message.get("owner"),
                                         message.get("checkpoint"))
        if (isinstance(collection, str) and (owner is None or isinstance(owner, str))
                and isinstance(checkpoint, int)):
            self._poke(Change(collection, owner, checkpoint))

    def _poke(self, change: Change) -> None:
        model = self.models.get(change.collection)
        if model is None:
            return
        for user_id, streams in self.streams.items():
            if may_read(model, user_id, change.owner, self.store):
                for stream in streams:
                    stream.poke(change.checkpoint)

    def _end_session(self, session_hash: str) -> None:
        for streams in self.streams.values():
            for stream in streams:
                if stream.session_hash == session_hash:
                    stream.end()


def hub_of(request: Request) -> LiveHub | None:
    return getattr(request.app.state, "live", None)


def document_changes(collection: str, docs: Iterable[Document | None]) -> list[Change]:
    return [Change(collection, doc.owner, doc.checkpoint) for doc in docs if doc is not None]


async def notify(request: Request, changes: Iterable[Change]) -> None:
    """Tell the streams about a committed write (nothing before the lifespan started one)."""
    hub = hub_of(request)
    if hub is not None:
        await hub.changed(changes)


async def session_ended(request: Request, session_hash: str) -> None:
    """A log-out ended this session: its streams end, in every process."""
    hub = hub_of(request)
    if hub is not None:
        await hub.session_ended(session_hash)


# ---- the endpoint -----------------------------------------------------------------------------

def change_event(checkpoint: int) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps({"checkpoint": checkpoint}), event="change")


async def session_alive(request: Request, session_hash: str) -> bool:
    sessions = request.app.state.sessions
    row = await sessions.db.fetchone("SELECT expires_at FROM sessions WHERE token_hash = ?",
                                     (session_hash,))
    return row is not None and row[0] > sessions.clock()


async def stream_events(request: Request, hub: LiveHub,
                        stream: Stream) -> AsyncIterator[ServerSentEvent]:
    try:
        yield change_event(await store_of(request).checkpoint())
        while True:
            try:
                await asyncio.wait_for(stream.wake.wait(), SESSION_CHECK_SECONDS)
            except TimeoutError:
                if not await session_alive(request, stream.session_hash):
                    return
                continue
            if stream.ended:
                return
            checkpoint = stream.take()
            if checkpoint is not None:
                yield change_event(checkpoint)
    finally:
        hub.close(stream)


async def changes_stream(request: Request) -> EventSourceResponse:
    """The signed-in user's change stream (401 without a session, as every endpoint)."""
    store_of(request)
    user_id = require_user(request)
    session = current_session(request)
    hub = hub_of(request)
    assert session is not None and hub is not None  # require_user passed; the lifespan ran
    stream = hub.open(user_id, session.token_hash)
    return EventSourceResponse(
        stream_events(request, hub, stream), ping=PING_SECONDS,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def routes() -> list[BaseRoute]:
    return [Route("/api/changes/stream", changes_stream, methods=["GET"], name="changes.stream")]


__all__ = ["Change", "LiveHub", "Relay", "Stream", "document_changes", "notify", "session_ended",
           "register_relay", "relay_of", "routes"]
