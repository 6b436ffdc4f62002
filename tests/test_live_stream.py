"""The change stream (`GET /api/changes/stream`, server/live.py) against real `offsync serve`
processes: a write pokes the streams of the users who may read it and no one else's, in one
process (SQLite) and across two processes on one PostgreSQL database; log-out ends a stream,
and so does an expired session; a LISTEN connection PostgreSQL drops is made again.

"No poke" is proven without waiting for silence: after A's write, B writes too, and the next
event on B's stream must be B's own (a poke for A's write would have come first: a process
pokes its streams before it answers the write, and PostgreSQL delivers notifications in
commit order).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest

from models import MemoryStore, Todo, sync
from server.live import SESSION_CHECK_SECONDS
from server.stores import open_store
from tests.auth_helpers import PASSWORD, Account, sign_up
from tests.live_server import LiveServer

GUARD_SECONDS = 20  # only so that a broken stream fails the test instead of hanging it


class EventReader:
    """The events of one open stream, parsed from its lines (`event:`/`data:`, blank ends)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self) -> tuple[str, dict] | None:
        """The next event (comments and pings skipped), or None when the stream ended."""
        return await asyncio.wait_for(self._next(), GUARD_SECONDS)

    async def _next(self) -> tuple[str, dict] | None:
        event, data = "message", []
        async for line in self.lines:
            if line == "":
                if data:
                    return event, json.loads("\n".join(data))
                event = "message"
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        return None


@contextlib.asynccontextmanager
async def stream_of(client: httpx.AsyncClient) -> AsyncIterator[EventReader]:
    async with client.stream("GET", "/api/changes/stream", timeout=None) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


async def checkpoint_of(client: httpx.AsyncClient) -> int:
    return (await client.get("/api/checkpoint")).json()["checkpoint"]


async def add_todo(client: httpx.AsyncClient, title: str) -> dict:
    made = await client.post("/api/todos", json={"title": title})
    assert made.status_code == 201, made.text
    return made.json()


@pytest.fixture
def sqlite_server(tmp_path):
    server = LiveServer(tmp_path / "live.db").start()
    yield server
    server.stop()


@pytest.fixture
def postgres_servers(postgres_fresh_url):
    started = [LiveServer(postgres_fresh_url).start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


@contextlib.asynccontextmanager
async def signed_in(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Account]]:
    async with httpx.AsyncClient(base_url=url) as client:
        yield client, await sign_up(client)


def same_session(client: httpx.AsyncClient, account: Account, url: str) -> httpx.AsyncClient:
    """Another client of `url` carrying `client`'s session (a second device, or process)."""
    return httpx.AsyncClient(base_url=url, cookies=client.cookies,
                             headers={"X-CSRF-Token": account.csrf})


async def test_a_stream_needs_a_session(sqlite_server):
    async with httpx.AsyncClient(base_url=sqlite_server.url) as anonymous:
        response = await anonymous.get("/api/changes/stream")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


async def check_pokes_only_the_reader(write_url: str, stream_url: str) -> None:
    """A writes through `write_url`; A's and B's streams are open on `stream_url`."""
    async with signed_in(write_url) as (a, account_a), signed_in(write_url) as (b, account_b), \
            same_session(a, account_a, stream_url) as a_there, \
            same_session(b, account_b, stream_url) as b_there, \
            stream_of(a_there) as a_stream, stream_of(b_there) as b_stream:
        first = await a_stream.next()
        assert first == ("change", {"checkpoint": await checkpoint_of(a)})
        assert (await b_stream.next())[0] == "change"

        await add_todo(a, "seen by a only")
        poke = await a_stream.next()
        assert poke == ("change", {"checkpoint": await checkpoint_of(a)}), poke

        await add_todo(b, "b's own")
        b_checkpoint = await checkpoint_of(b)
        assert await b_stream.next() == ("change", {"checkpoint": b_checkpoint}), \
            "b's stream was poked for a's write"
        # and the other way round: b's write did not poke a
        made = await add_todo(a, "a again")
        assert await a_stream.next() == ("change", {"checkpoint": await checkpoint_of(a)})

        # REST edits and deletes poke too, and so does a push through the sync endpoints
        edited = await a.patch(f"/api/todos/{made['id']}", json={"completed": True})
        assert edited.status_code == 200, edited.text
        assert await a_stream.next() == ("change", {"checkpoint": await checkpoint_of(a)})
        deleted = await a.delete(f"/api/todos/{made['id']}")
        assert deleted.status_code == 200, deleted.text
        assert await a_stream.next() == ("change", {"checkpoint": await checkpoint_of(a)})

        device = MemoryStore()
        await Todo.using(device).as_user(account_a.id).create(title="pushed", completed=False)
        async with open_store(write_url, user=account_a.username, password=PASSWORD) as remote:
            result = await sync(device, remote, peer="server")
        assert result.push.count("applied") == 1, result
        assert await a_stream.next() == ("change", {"checkpoint": await checkpoint_of(a)})

        await add_todo(b, "b last")
        assert await b_stream.next() == ("change", {"checkpoint": await checkpoint_of(b)}), \
            "b's stream was poked for a's edits, delete or push"


async def test_a_write_pokes_its_owner_only_on_sqlite(sqlite_server):
    await check_pokes_only_the_reader(sqlite_server.url, sqlite_server.url)


async def test_a_write_through_one_process_pokes_streams_on_the_other(postgres_servers):
    first, second = postgres_servers
    await check_pokes_only_the_reader(first.url, second.url)


async def check_log_out_ends_the_stream(login_url: str, stream_url: str) -> None:
    async with signed_in(login_url) as (a, account), \
            same_session(a, account, stream_url) as there, stream_of(there) as stream:
        assert (await stream.next())[0] == "change"
        assert (await a.post("/api/auth/logout")).status_code == 204
        assert await stream.next() is None, "the stream outlived its session"
    async with same_session(a, account, stream_url) as stale:
        assert (await stale.get("/api/changes/stream")).status_code == 401


async def test_log_out_ends_the_stream(sqlite_server):
    await check_log_out_ends_the_stream(sqlite_server.url, sqlite_server.url)


async def test_log_out_through_another_process_ends_the_stream(postgres_servers):
    first, second = postgres_servers
    await check_log_out_ends_the_stream(first.url, second.url)


async def test_streams_survive_a_lost_listen_connection(postgres_servers, postgres_fresh_url):
    """PostgreSQL drops the second process's LISTEN connection: that process listens again,
    pokes its streams once (whatever was notified meanwhile is unknown), and later writes
    through the first process reach its streams as before."""
    first, second = postgres_servers
    async with signed_in(first.url) as (a, account), \
            same_session(a, account, second.url) as there, stream_of(there) as stream:
        assert (await stream.next())[0] == "change"
        with psycopg.connect(postgres_fresh_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN %%' AND pid <> pg_backend_pid()").fetchall()
        assert len(killed) == 2, f"expected one LISTEN connection per process, found {killed}"
        # both processes lost theirs; the second one's streams are poked once it listens again
        assert await stream.next() == ("change", {"checkpoint": await checkpoint_of(a)})
        await add_todo(a, "after the reconnect")
        assert await stream.next() == ("change", {"checkpoint": await checkpoint_of(a)}), \
            "a write through the other process no longer reaches this stream"


async def test_a_stream_ends_when_its_session_expires(sqlite_server):
    """No log-out tells the hub about an expiry: the stream checks its session itself, at the
    latest `SESSION_CHECK_SECONDS` after the last event (here, with nothing written meanwhile)."""
    async with signed_in(sqlite_server.url) as (a, _account):
        async with stream_of(a) as stream:
            assert (await stream.next())[0] == "change"
            with sqlite3.connect(sqlite_server.db_path) as db:
                expired = db.execute("UPDATE sessions SET expires_at = 0").rowcount
            assert expired == 1
            ended = await asyncio.wait_for(stream._next(), SESSION_CHECK_SECONDS + GUARD_SECONDS)
            assert ended is None, f"the stream outlived its expired session: {ended}"
        assert (await a.get("/api/changes/stream")).status_code == 401
