"""Clients follow a server that changed, over HTTP against real `offsync serve` processes on
real SQLite files: a client synced with server A and pointed at server B (another database, the
same account), and a server whose database file is put back from an older copy. The same logic
between local stores is in tests/model_cases/server_changed.py; a switch in the middle of a
replication is in tests/test_sync_api.py."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from models import MemoryStore, RemoteStore, Store, SyncResult, Todo, sync
from models.stores.sqlite import SQLiteStore
from server.transport import HttpxTransport
from tests.auth_helpers import Account, log_in, sign_up
from tests.live_server import LiveServer


@contextlib.asynccontextmanager
async def signed_in(server: LiveServer, account: Account | None = None
                    ) -> AsyncIterator[tuple[RemoteStore, Account]]:
    """A `RemoteStore` of `server`, signed in as `account` (a new one when None)."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        account = await (sign_up(client) if account is None else log_in(client, account))
        yield RemoteStore(HttpxTransport(client)), account


async def sync_todos(local: Store, remote: RemoteStore) -> SyncResult:
    return await sync(local, remote, models=[Todo], peer="server")


async def state(store: Store) -> dict[str, tuple]:
    """Every document and tombstone as (rev, deleted, data)."""
    return {d.id: (d.rev, d.deleted, d.data) for d in await store.feed("todos", 0, 5000,
                                                                        full=True)}


async def assert_holds_the_same(local: Store, remote: RemoteStore, what: str) -> None:
    """The server holds exactly the client's documents (tombstones too), once each."""
    mine, theirs = await state(local), await state(remote)
    assert mine == theirs, f"{what}: client and server differ:\n{mine}\n{theirs}"
    live = sum(1 for _, deleted, _ in mine.values() if not deleted)
    assert await Todo.using(remote).count() == live, f"{what}: a document is there twice"


async def assert_no_op(local: Store, remote: RemoteStore, what: str) -> None:
    again = await sync_todos(local, remote)
    assert not again.push.resynced and not again.pull.resynced, f"{what}: resynced again"
    assert again.push.counts == {} and again.pull.counts == {}, again


def copy_database(source: Path, target: Path) -> None:
    """The file of a stopped server (its WAL already folded in), as a backup copies it."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)


async def test_a_client_pointed_at_another_database_resyncs_and_loses_nothing(tmp_path):
    a = LiveServer(tmp_path / "a.db").start()
    b = LiveServer(tmp_path / "b.db").start()
    try:
        local = MemoryStore()
        async with signed_in(a) as (remote_a, account):
            T = Todo.using(local).as_user(account.id)
            other = MemoryStore()  # another device of the same person: A's checkpoint grows
            for i in range(40):
                await Todo.using(other).as_user(account.id).create(id=f"a{i}", title=f"a {i}")
            await sync_todos(other, remote_a)
            await T.create(id="mine", title="made here")
            await sync_todos(local, remote_a)
            checkpoint_a, identity_a = await remote_a.checkpoint(), await remote_a.identity()
        with contextlib.closing(sqlite3.connect(tmp_path / "b.db")) as db:
            # the same account on B (as a migration copies accounts): the same user id
            db.execute("ATTACH DATABASE ? AS a", (str(tmp_path / "a.db"),))
            db.execute("INSERT INTO users SELECT * FROM a.users")
            db.commit()
        await (await T.find_by_id("a1")).update(title="edited offline")
        await T.create(id="offline", title="made offline")
        await (await T.find_by_id("a2")).delete()
        async with signed_in(b, account) as (remote_b, _):
            for i in range(3):
                await Todo.using(remote_b).create(id=f"b{i}", title=f"b {i}")
            assert await remote_b.checkpoint() < checkpoint_a
            assert await remote_b.identity() != identity_a

            first = await sync_todos(local, remote_b)
            assert first.push.resynced and first.pull.resynced, first
            assert first.push.rejected == [] and first.conflicts == [], first
            await assert_holds_the_same(local, remote_b, "after the switch")
            held = {id for id, (_, deleted, _) in (await state(local)).items() if not deleted}
            assert held == ({f"a{i}" for i in range(40)} - {"a2"}) \
                | {"mine", "offline", "b0", "b1", "b2"}, sorted(held)
            assert (await Todo.using(remote_b).find_by_id("a1")).title == "edited offline"
            assert await Todo.using(remote_b).find_by_id("a2") is None
            await assert_no_op(local, remote_b, "after the switch")
    finally:
        a.stop()
        b.stop()


async def test_a_database_file_put_back_from_an_older_copy_is_resynced(tmp_path):
    path, backup = tmp_path / "offsync.db", tmp_path / "backup.db"
    server = LiveServer(path).start()
    try:
        local, other = MemoryStore(), MemoryStore()
        async with signed_in(server) as (remote, account):
            T = Todo.using(local).as_user(account.id)
            Other = Todo.using(other).as_user(account.id)
            for i in range(4):
                await Other.create(id=f"o{i}", title=f"o {i}")
            await sync_todos(other, remote)
            await T.create(id="early", title="before the backup")
            await sync_todos(local, remote)
            identity = await remote.identity()
        server.stop()
        copy_database(path, backup)  # the file copied mid-way
        server.start()
        async with signed_in(server, account) as (remote, _):
            for i in range(6):
                await Other.create(id=f"late{i}", title=f"late {i}")
            await (await Other.find_by_id("o1")).update(title="edited after the backup")
            await sync_todos(other, remote)
            await T.create(id="pushed", title="acknowledged by the file that is lost")
            await sync_todos(local, remote)
        await T.create(id="unsynced", title="not pushed before the restore")
        server.stop()
        copy_database(backup, path)  # ... and put back
        server.start()
        async with signed_in(server, account) as (remote, _):
            assert await remote.identity() == identity, "the copy keeps its identity"
            await Todo.using(remote).create(id="after", title="after the restore")
            result = await sync_todos(local, remote)
            assert result.push.resynced and result.pull.resynced, result
            assert result.conflicts == [] and result.push.rejected == [], result
            await assert_holds_the_same(local, remote, "after the restore")
            held = await state(local)
            for id in ("early", "pushed", "unsynced", "after", "late0", "late5", "o0"):
                assert id in held and not held[id][1], f"{id} is missing: {sorted(held)}"
            assert held["o1"][2]["title"] == "edited after the backup"
            await assert_no_op(local, remote, "after the restore")
    finally:
        server.stop()


async def test_a_sqlite_file_keeps_its_identity_and_a_deleted_one_is_made_anew(tmp_path):
    """Made when the file is first opened, kept by a copy; deleting the mark (as docs/PROTOCOL.md
    advises after restoring a backup) makes the next open choose a new one."""
    path = tmp_path / "offsync.db"
    store = SQLiteStore(str(path))
    made = await store.identity()
    store.close()
    shutil.copyfile(path, tmp_path / "copy.db")
    for name in ("offsync.db", "copy.db"):
        reopened = SQLiteStore(str(tmp_path / name))
        assert await reopened.identity() == made, name
        reopened.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("DELETE FROM meta WHERE key = 'mark:database'")
        db.commit()
    renewed = SQLiteStore(str(path))
    assert await renewed.identity() not in (None, made)
    renewed.close()
