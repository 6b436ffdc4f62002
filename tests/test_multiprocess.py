"""Several `offsync serve` processes on one PostgreSQL database, as a deployment runs them.

Every piece of server state lives in the database, so a user signed in through one process is
signed in on every other, and clients pushing and pulling through different processes at the
same time converge with nothing lost or duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import sys

import httpx
import pytest

from models import MemoryStore, Todo, sync
from server.stores import open_store
from tests.auth_helpers import PASSWORD, sign_up
from tests.live_server import ROOT, LiveServer

CLIENTS = 4
STEPS = 12


@pytest.fixture
def servers(postgres_fresh_url):
    started = [LiveServer(postgres_fresh_url).start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


async def test_a_session_from_one_process_works_on_the_other(servers):
    first, second = servers
    async with httpx.AsyncClient(base_url=first.url) as one:
        account = await sign_up(one)
        made = await one.post("/api/todos", json={"title": "through the first"})
        assert made.status_code == 201, made.text
        async with httpx.AsyncClient(base_url=second.url, cookies=one.cookies,
                                     headers={"X-CSRF-Token": account.csrf}) as two:
            listed = await two.get("/api/todos")
            assert [t["title"] for t in listed.json()] == ["through the first"], listed.text
            edited = await two.put(f"/api/todos/{made.json()['id']}",
                                   json={**made.json(), "title": "edited through the second"},
                                   headers={"If-Match": made.json()["_rev"]})
            assert edited.status_code == 200, edited.text
        assert (await one.get("/api/todos")).json()[0]["title"] == "edited through the second"
        logged_out = await one.post("/api/auth/logout")
        assert logged_out.status_code == 204
    async with httpx.AsyncClient(base_url=second.url, cookies=one.cookies) as stale:
        assert (await stale.get("/api/todos")).status_code == 401, "a session outlived log-out"


async def test_clients_through_two_processes_at_once_converge(servers):
    """Four clients of one user edit offline and sync at the same moments, each alternating
    between the two processes; at the end every client and the database hold exactly what each
    client's own last writes say."""
    rng = random.Random(20261202)
    async with httpx.AsyncClient(base_url=servers[0].url) as client:
        account = await sign_up(client)
    async with contextlib.AsyncExitStack() as stack:
        remotes = [[await stack.enter_async_context(open_store(
            server.url, user=account.username, password=PASSWORD)) for server in servers]
            for _ in range(CLIENTS)]
        locals_ = [MemoryStore() for _ in range(CLIENTS)]
        expected: dict[str, tuple[str, bool] | None] = {}  # id -> (title, completed) or deleted

        async def client_run(i: int) -> None:
            T = Todo.using(locals_[i]).as_user(account.id)
            mine: list[Todo] = []
            for step in range(STEPS):
                for _ in range(rng.randint(1, 3)):
                    choice = rng.random()
                    if not mine or choice < 0.5:
                        todo = await T.create(title=f"c{i} s{step}", completed=False)
                        mine.append(todo)
                        expected[todo.id] = (todo.title, False)
                    elif choice < 0.85:
                        todo = rng.choice(mine)
                        todo.title, todo.completed = f"c{i} edit {step}", not todo.completed
                        await todo.save()
                        expected[todo.id] = (todo.title, todo.completed)
                    else:
                        todo = mine.pop(rng.randrange(len(mine)))
                        await todo.delete()
                        expected[todo.id] = None
                result = await sync(locals_[i], remotes[i][(i + step) % 2], peer="server")
                assert not result.conflicts and not result.push.rejected, result

        await asyncio.gather(*(client_run(i) for i in range(CLIENTS)))
        for _ in range(2):  # everyone pulls what the others pushed last, through either process
            for i in range(CLIENTS):
                await sync(locals_[i], remotes[i][i % 2], peer="server")
        want = {id: value for id, value in expected.items() if value is not None}
        for i, local in enumerate(locals_):
            got = {t.id: (t.title, t.completed) for t in await Todo.using(local).find()}
            assert got == want, f"client {i} differs: {set(got) ^ set(want)}"
        server_docs = await remotes[0][1].find("todos", Todo.query())
        assert {d.id: (d.data["title"], d.data["completed"]) for d in server_docs} == want
        assert len(server_docs) == len(want), "a document was duplicated"


def test_workers_serve_one_socket_on_postgres_and_refuse_sqlite(postgres_fresh_url, tmp_path):
    """`--workers 2` on PostgreSQL: one address, and every request answered (any process may
    take it); on SQLite the command refuses, saying why."""
    server = LiveServer(postgres_fresh_url, options=("--workers", "2",
                                                     "--register-attempts", "1000")).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            response = client.post("/api/auth/register",
                                   json={"username": "workers", "password": PASSWORD})
            assert response.status_code == 201, response.text
            client.headers["X-CSRF-Token"] = response.json()["csrf"]
            for i in range(20):  # fresh connections: the kernel spreads them over the workers
                with httpx.Client(base_url=server.url, cookies=client.cookies,
                                  headers=client.headers) as fresh:
                    assert fresh.post("/api/todos", json={"title": f"w{i}"}).status_code == 201
            assert client.get("/api/todos/count").json() == {"count": 20}
    finally:
        server.stop()
    refused = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--db", f"sqlite:///{tmp_path}/x.db",
         "--workers", "2", "--port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "postgresql://" in refused.stderr, refused.stderr
