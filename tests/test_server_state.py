"""The server's own state (accounts, sessions, rate limits) in the documents' database.

Each test runs on every database the server runs on, through `server/database.py`, so several
server processes share one count of failed log-ins and one table of sessions.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest

from models.errors import ValidationError
from server.accounts import Accounts
from server.database import Database, PostgresDatabase, SQLiteDatabase
from server.postgres import PostgresStore
from server.ratelimit import RateLimiter, TooManyAttemptsError, login_key
from server.sessions import Sessions


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request) -> AsyncIterator[Database]:
    if request.param == "postgresql":
        store = await PostgresStore.open(request.getfixturevalue("postgres_url"), max_size=4)
        try:
            yield PostgresDatabase(store.pool)
        finally:
            await store.close()
        return
    connection = sqlite3.connect(":memory:", isolation_level=None)
    try:
        yield SQLiteDatabase(connection)
    finally:
        connection.close()


async def limiter(db: Database, attempts: int, now: list[float]) -> RateLimiter:
    made = RateLimiter(db, "login", attempts, 60, "failed log-ins", clock=lambda: now[0])
    await made.create_schema()
    return made


async def test_rate_limiter_window_with_an_injected_clock(db):
    now = [100.0]
    limit = await limiter(db, 3, now)
    key = login_key(" Ada ", "1.2.3.4")
    assert key == ("ada", "1.2.3.4")
    for t in (100, 110, 120):
        now[0] = t
        await limit.take(key)
    with pytest.raises(TooManyAttemptsError) as locked:
        await limit.check(key)
    assert locked.value.headers == {"Retry-After": "40"}  # the first failure leaves at 160
    assert locked.value.details == {"retry_after": 40}
    with pytest.raises(TooManyAttemptsError):
        await limit.take(key)
    assert await limit.count(key) == 3, "a refused attempt was counted"
    await limit.check(login_key("ada", "5.6.7.8"))  # another address: its own count
    await limit.check(login_key("bob", "1.2.3.4"))  # another username: its own count
    now[0] = 159.5
    with pytest.raises(TooManyAttemptsError) as locked:
        await limit.check(key)
    assert locked.value.headers == {"Retry-After": "1"}
    now[0] = 160
    await limit.take(key)  # the oldest failure left the window: 110, 120, 160
    with pytest.raises(TooManyAttemptsError) as locked:
        await limit.check(key)
    assert locked.value.headers == {"Retry-After": "10"}
    now[0] = 400  # every failure left the window
    await limit.check(key)


async def test_rate_limiter_success_clears_and_old_rows_are_deleted(db):
    now = [0.0]
    limit = await limiter(db, 2, now)
    a, b = login_key("a", "ip"), login_key("b", "ip")
    await limit.record(a)
    await limit.clear(a)
    await limit.record(a)
    await limit.check(a)  # one failure since the success
    await limit.record(b)
    now[0] = 61
    await limit.record(b)  # the rows that left the window go as new ones arrive
    rows = await db.fetchall("SELECT key FROM rate_events")
    assert rows == [("b\x1fip",)]


async def test_attempts_sent_at_once_never_pass_more_than_the_limit(db):
    """Twenty log-ins of one pair at the same moment: at most `attempts` get through."""
    now = [5.0]
    limit = await limiter(db, 3, now)
    key = login_key("ada", "ip")

    async def attempt() -> bool:
        try:
            await limit.take(key)
        except TooManyAttemptsError:
            return False
        return True

    passed = sum(await asyncio.gather(*(attempt() for _ in range(20))))
    assert passed == 3 and await limit.count(key) == 3


async def test_two_processes_share_one_count(postgres_url):
    """Two servers on one PostgreSQL database (two pools, as two processes have) count the same
    failed log-ins: attempts spread over both, sent at once, pass exactly the limit."""
    stores = [await PostgresStore.open(postgres_url, max_size=4) for _ in range(2)]
    try:
        now = [5.0]
        limits = [await limiter(PostgresDatabase(store.pool), 3, now) for store in stores]
        key = login_key("ada", "ip")

        async def attempt(limit: RateLimiter) -> bool:
            try:
                await limit.take(key)
            except TooManyAttemptsError:
                return False
            return True

        passed = sum(await asyncio.gather(*(attempt(limits[i % 2]) for i in range(20))))
        assert passed == 3 and await limits[0].count(key) == 3
        with pytest.raises(TooManyAttemptsError):
            await limits[1].check(key)
    finally:
        for store in stores:
            await store.close()


async def test_sessions_expire_after_their_ttl(db):
    now = [1000.0]
    sessions = Sessions(db, ttl=60, clock=lambda: now[0])
    await sessions.create_schema()
    token, session = await sessions.create("u1")
    assert await sessions.lookup(token) == session and session.expires_at == 1060
    assert await sessions.lookup("other") is None
    now[0] = 1059.9
    assert not sessions.is_expired(session)
    now[0] = 1060
    assert sessions.is_expired(session)
    # an expired session is kept a week (to say "expired"), then a new log-in sweeps it away
    now[0] = 1060 + 7 * 24 * 3600 + 1
    await sessions.create("u2")
    assert await sessions.lookup(token) is None
    await sessions.delete(session)


async def test_usernames_are_unique_in_any_case_and_accounts_move_whole(db):
    accounts = Accounts(db)
    await accounts.create_schema()
    ada = await accounts.create("Ada", "hash-1")
    with pytest.raises(ValidationError) as taken:
        await accounts.create("aDA", "hash-2")
    assert taken.value.details == {"username": ["is already taken"]}
    assert await accounts.exists("ADA") and (await accounts.password_hash("ada"))[1] == "hash-1"
    assert await accounts.get(ada.id) == ada and await accounts.get("nobody") is None
    moved = await accounts.create("bob", "hash-3", id="b" * 32, created_at=12.5)
    assert [(user, hashed) for user, hashed, _ in await accounts.everyone()] == [
        (moved, "hash-3"), (ada, "hash-1")]


async def test_processes_starting_at_once_on_a_new_database_all_start(postgres_cluster):
    """`offsync serve --workers N` on an empty database: every process creates the server's
    tables at the same moment. CREATE TABLE IF NOT EXISTS alone races in PostgreSQL (one of
    them fails on the system catalog's unique index), which used to stop a worker at start."""
    for _ in range(4):
        url = postgres_cluster.create_database()
        stores = [await PostgresStore.open(url, min_size=1, max_size=1) for _ in range(6)]
        try:
            tables = [table for store in stores for table in (
                Accounts(PostgresDatabase(store.pool)), Sessions(PostgresDatabase(store.pool)),
                RateLimiter(PostgresDatabase(store.pool), "login", 5, 60, "failed log-ins"))]
            await asyncio.gather(*(table.create_schema() for table in tables))
        finally:
            for store in stores:
                await store.close()
            postgres_cluster.drop_database(url)
