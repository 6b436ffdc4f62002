"""Shared lists: what a member's pull costs as the database grows, and how long a device takes to
receive a large list once it is shared with its user.

    python -m bench.lists        # writes bench/results/lists-<time>.json and lists-latest.md

The pull figures and the first receive figure run the app in this process on a SQLite file,
spoken to through httpx's ASGI transport (no loopback socket, no browser): they are the
server's and the sync protocol's. The second receive figure is a real device: the server as its
own process on a loopback port, and Bob's device the app's stores in Chromium (Pyodide, Web
Storage), timed in the page from the sync's start to every todo stored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from models import MemoryStore, RemoteStore, Todo, TodoList, sync
from models.document import Document
from models.revisions import next_revision
from server import create_app
from server.transport import HttpxTransport
from tests.auth_helpers import client_of, sign_up

RESULTS = Path(__file__).resolve().parent / "results"
LISTS = 50


def todo_doc(id: str, owner: str, list_id: str, i: int) -> Document:
    data = {"id": id, "title": f"todo {i}", "completed": False, "order": i, "due": None,
            "owner": owner, "list_id": list_id, "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z"}
    return Document("todos", id, next_revision(None, data), 0, False, data, owner=list_id)


async def fill(store, docs: list[Document]) -> None:
    for start in range(0, len(docs), 2000):
        await store.apply("todos", docs[start:start + 2000])


async def pull_cost(total: int, runs: int = 20) -> dict:
    """Bob is a member of 50 of Ann's lists (10 todos each); the rest of the `total` todos are
    Ann's own. Ann adds 10 todos to the shared lists; the time of Bob's pull of them."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"sqlite:///{tmp}/db.sqlite", web_dir=Path(tmp) / "web")
        async with app.router.lifespan_context(app), client_of(app, "127.0.0.2") as a_http, \
                client_of(app, "127.0.0.3") as b_http:
            ann, bob = await sign_up(a_http, "ann"), await sign_up(b_http, "bob")
            store = app.state.store
            lists = []
            for n in range(LISTS):
                made = await a_http.post("/api/todolists", json={
                    "name": f"list {n}", "members": {bob.id: "editor"}})
                lists.append(made.json()["id"])
            docs = [todo_doc(f"s{n}-{i}", ann.id, lists[n], i)
                    for n in range(LISTS) for i in range(10)]
            docs += [todo_doc(f"p{i}", ann.id, f"inbox-{ann.id}", i)
                     for i in range(total - len(docs))]
            await fill(store, docs)
            params = {"version": str(Todo.version), "limit": "500"}
            since = 0
            while True:  # bob is up to date
                page = (await b_http.get("/api/todos/sync/changes",
                                         params={**params, "since": str(since)})).json()
                since = page["checkpoint"]
                if page["remaining"] == 0:
                    break
            timings = []
            for run in range(runs):
                for i in range(10):
                    await a_http.post("/api/todos", json={"title": f"new {run} {i}",
                                                          "list_id": lists[i % LISTS]})
                started = time.perf_counter()
                page = (await b_http.get("/api/todos/sync/changes",
                                         params={**params, "since": str(since)})).json()
                timings.append((time.perf_counter() - started) * 1000)
                assert len(page["docs"]) == 10 and page["remaining"] == 0, page
                since = page["checkpoint"]
            return {"total": total, "median_ms": statistics.median(timings),
                    "min_ms": min(timings), "max_ms": max(timings), "runs": runs}


async def receive_list(size: int = 5000) -> dict:
    """Ann's list of `size` todos is shared with Bob; the time of Bob's device's next sync."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(f"sqlite:///{tmp}/db.sqlite", web_dir=Path(tmp) / "web")
        async with app.router.lifespan_context(app), client_of(app, "127.0.0.2") as a_http, \
                client_of(app, "127.0.0.3") as b_http:
            ann, bob = await sign_up(a_http, "ann"), await sign_up(b_http, "bob")
            big = (await a_http.post("/api/todolists", json={"name": "big"})).json()
            await fill(app.state.store, [todo_doc(f"b{i}", ann.id, big["id"], i)
                                         for i in range(size)])
            device = MemoryStore()
            remote = RemoteStore(HttpxTransport(b_http))
            await sync(device, remote, peer="server")
            shared = await a_http.patch(f"/api/todolists/{big['id']}",
                                        json={"members": {bob.id: "viewer"}})
            assert shared.status_code == 200, shared.text
            started = time.perf_counter()
            await sync(device, remote, peer="server")
            elapsed = (time.perf_counter() - started) * 1000
            held = await Todo.using(device).as_user(bob.id).count()
            lists = await TodoList.using(device).as_user(bob.id).count()
            assert held == size and lists == 1, (held, lists)
            return {"size": size, "ms": elapsed}


RECEIVE_IN_PAGE = """
started = time.perf_counter()
result = await sync(local, remote, peer="server")
ms = (time.perf_counter() - started) * 1000
json.dumps({"ms": ms, "held": await LocalTodo.count()})
"""


def receive_list_in_chromium(size: int = 5000) -> dict:
    """Ann's list of `size` todos is shared with Bob; the time of his browser's next sync, the
    server a real process (bench/server.py) on SQLite."""
    from .auth import sign_up as sign_up_over_http
    from .browser import Harness, chromium
    from .server import BenchServer

    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        server = BenchServer(Path(tmp) / "lists.db").start()
        try:
            ann, bob = sign_up_over_http(server.url), sign_up_over_http(server.url)
            page = Harness(browser, server.url, bob)
            page.run('await sync(local, remote, peer="server")\njson.dumps(1)')

            async def ann_fills() -> str:
                async with ann.async_client(server.url, timeout=120) as http:
                    big = (await http.post("/api/todolists", json={"name": "big"})).json()
                    device, remote = MemoryStore(), RemoteStore(HttpxTransport(http))
                    await sync(device, remote, peer="server")
                    todos = Todo.using(device).as_user(ann.user_id)
                    for i in range(size):
                        await todos.create(title=f"todo {i}", list_id=big["id"])
                    await sync(device, remote, peer="server")
                    shared = await http.patch(f"/api/todolists/{big['id']}",
                                              json={"members": {bob.user_id: "viewer"}})
                    assert shared.status_code == 200, shared.text
                    return big["id"]

            with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's loop is here
                pool.submit(asyncio.run, ann_fills()).result()
            received = page.run(RECEIVE_IN_PAGE)
            assert received["held"] == size, received
            page.close()
            return {"size": size, "ms": received["ms"]}
        finally:
            server.stop()


async def main() -> dict:
    small, large = await pull_cost(1_000), await pull_cost(100_000)
    received = await receive_list()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's sync API, off the loop
        in_chromium = pool.submit(receive_list_in_chromium).result()
    load = os.getloadavg()
    result = {"pull_1000": small, "pull_100000": large,
              "ratio": large["median_ms"] / small["median_ms"], "receive_5000": received,
              "receive_5000_chromium": in_chromium, "load_average": load}
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"lists-{stamp}.json").write_text(json.dumps(result, indent=1))
    (RESULTS / "lists-latest.md").write_text(
        "| figure | value | target |\n|---|---|---|\n"
        f"| pull of 10 new changes, member of 50 lists, 1,000 todos | "
        f"{small['median_ms']:.2f} ms (median of {small['runs']}) | |\n"
        f"| same among 100,000 todos | {large['median_ms']:.2f} ms | |\n"
        f"| ratio 100,000 / 1,000 | {result['ratio']:.2f}x | <= 2x |\n"
        f"| a device receives a 5,000-todo list after being added | {received['ms']:.0f} ms "
        f"| <= 1000 ms |\n"
        f"| the same, the device Chromium and the server its own process | "
        f"{in_chromium['ms']:.0f} ms | <= 1000 ms |\n\n"
        f"SQLite; the first rows in process (httpx ASGI transport); {stamp}; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n")
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=1))
