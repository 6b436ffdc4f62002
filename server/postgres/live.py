"""The live-update relay between server processes on one PostgreSQL database: LISTEN/NOTIFY.

A process publishes with `pg_notify` on a pooled autocommit connection, after the write it
announces committed (PostgreSQL delivers a notification only on commit anyway). Each process
keeps one dedicated connection that LISTENs on `CHANNEL` and hands every message to the hub; if
that connection is lost it reconnects with backoff, and the hub then pokes every stream of the
process once (an `everyone` message), since whatever was notified meanwhile is unknown.

A message is a few short fields (`server/live.py`), far under PostgreSQL's 8,000-byte payload
limit; one that would not fit is refused here rather than failing in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from psycopg import AsyncConnection

from ..live import Relay, register_relay
from .adapter import PostgresStore

CHANNEL = "offsync_changes"
MAX_PAYLOAD_BYTES = 7999  # PostgreSQL refuses a payload of 8000 bytes or more
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)  # the backoff of the LISTEN connection

log = logging.getLogger(__name__)


class PostgresRelay(Relay):
    """NOTIFY to publish, one LISTEN connection per process to receive."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.task: asyncio.Task | None = None
        self.listening = asyncio.Event()

    async def start(self, deliver: Callable[[dict[str, Any]], None]) -> None:
        self.task = asyncio.create_task(self._listen(deliver))
        # the first LISTEN is in place before the server answers, so no write is missed
        await asyncio.wait_for(self.listening.wait(), 30)

    async def publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"))
        if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"a live-update message of {len(payload)} characters is too long")
        async with self.store.pool.connection() as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def _listen(self, deliver: Callable[[dict[str, Any]], None]) -> None:
        failures = 0
        while True:
            try:
                async with await AsyncConnection.connect(self.store.url,
                                                         autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if self.listening.is_set():  # a reconnect: what was missed is unknown
                        deliver({"everyone": True, "checkpoint": await self.store.checkpoint()})
                    self.listening.set()
                    failures = 0
                    async for notify in conn.notifies():
                        try:
                            message = json.loads(notify.payload)
                        except ValueError:
                            continue
                        if isinstance(message, dict):
                            deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection was lost: listen again, after a pause
                log.warning("live updates: the LISTEN connection failed (%s); reconnecting", exc)
            delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
            failures += 1
            await asyncio.sleep(delay)


register_relay(PostgresStore, PostgresRelay)  # type: ignore[arg-type]
