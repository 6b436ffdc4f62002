"""Sync through the real app when answers are lost and the server restarts (docs/PROTOCOL.md,
"Lost answers" and "Progress"): no false conflict, nothing done twice beyond one page.

The server is `create_app` on a real SQLite file behind `tests/flaky_app.FlakyFront`, which lets
every request be handled in full and then drops the answer (a dropped connection, or the server
killed between its commit and its reply), and restarts the app on the same file between steps.
The clients are Web Storage stores, as in the browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from models import DictStorage, Todo, TransportError, WebStorageStore, sync
from models.protocol import doc_to_wire

from .flaky_app import running

PULL_DOCS = 3000
PAGE = 500


def device(owner: str) -> tuple[WebStorageStore, type[Todo]]:
    store = WebStorageStore(DictStorage())
    return store, Todo.using(store).as_user(owner)


async def sync_once(store, remote, **kw):
    """One sync as the page runs it (progress kept in the store); None when an answer was lost."""
    try:
        return await sync(store, remote, models=[Todo], peer="server", **kw)
    except TransportError:
        return None


async def sync_until_done(store, remote, **kw):
    for interruptions in range(200):
        result = await sync_once(store, remote, **kw)
        if result is not None:
            return result, interruptions
    raise AssertionError("no sync finished in 200 attempts")


async def revisions(store) -> dict[str, tuple]:
    return {d.id: (d.rev, d.data) for d in await store.feed("todos", 0, 10**6)}


async def edit(T, id: str, **fields) -> None:
    await (await T.find_by_id(id)).update(**fields)


@pytest.mark.parametrize("restart", [False, True], ids=["answer-dropped", "then-restarted"])
async def test_lost_push_answer_then_edits_of_other_fields_merge(tmp_path: Path, restart):
    """The reported case, over HTTP: the server applied client 1's title but the answer was lost
    (and, in the second run, the server restarted on its file before anyone came back)."""
    async with running(str(tmp_path / "server.db")) as server, server.client() as (remote, user):
        one, A = device(user.id)
        two, B = device(user.id)
        todo = await A.create(title="milk")
        assert (await sync_once(one, remote)).conflicts == []
        assert (await sync_once(two, remote)).conflicts == []
        await edit(A, todo.id, title="oat milk")
        server.front.lose.append("/sync/apply")
        assert await sync_once(one, remote) is None and server.front.lost == 1
        if restart:
            await server.restart()
        await edit(B, todo.id, completed=True)
        assert (await sync_once(two, remote)).conflicts == []
        await edit(A, todo.id, title="oat milk, 2 l")
        result = await sync_once(one, remote)
        assert result.conflicts == [], f"a false conflict after a lost answer: {result.conflicts}"
        assert result.push.count("merged") == 1, result.push.counts
        for store in (two, one):
            assert (await sync_once(store, remote)).conflicts == []
        for store in (one, two, remote):
            doc = await store.get("todos", todo.id)
            assert (doc.data["title"], doc.data["completed"]) == ("oat milk, 2 l", True), store
            assert await store.conflicts("todos") == [], store


async def test_server_refuses_malformed_unacked_bodies(tmp_path: Path):
    """`unacked` is optional (older clients leave it out); when sent it must be well formed, or
    the batch is refused whole with INVALID_DOC and nothing is written."""
    async with running(str(tmp_path / "server.db")) as server, server.client() as (remote, user):
        store, T = device(user.id)
        await T.create(title="milk")
        [doc] = await store.feed("todos", 0, 10)
        wire = doc_to_wire(doc)
        transport = remote.transport
        for bad in ([{"rev": "1-zz", "data": {}}], [{"rev": doc.rev}], {"rev": doc.rev},
                    [{"rev": doc.rev, "data": doc.data}] * 9):
            response = await transport("POST", "/api/todos/sync/apply",
                                       json={"protocol": 1, "docs": [{**wire, "unacked": bad}]})
            assert response.status == 400, response
            assert response.data["error"]["code"] == "INVALID_DOC", response.data
            assert "unacked" in response.data["error"]["message"], response.data
        assert await remote.feed("todos", 0, 10) == []
        response = await transport("POST", "/api/todos/sync/apply", json={"protocol": 1, "docs": [
            {**wire, "unacked": [{"rev": doc.rev, "data": doc.data}]}]})
        assert response.status == 200 and response.data["results"][0]["status"] == "applied"
        stored = await server.store.get("todos", doc.id)
        assert stored.unacked == (), "the server keeps no client's unacked bodies"


async def test_interrupted_pull_repulls_at_most_one_page_per_interruption(tmp_path: Path):
    async with running(str(tmp_path / "server.db")) as server, server.client() as (remote, user):
        writer, W = device(user.id)
        for i in range(PULL_DOCS):
            await W.create(title=f"todo {i}", order=i)
        await sync_until_done(writer, remote, batch_size=PAGE)
        server.front.pulled = 0
        server.front.fail_every = 2  # every second page answer is lost
        reader, _ = device(user.id)
        result, interruptions = await sync_until_done(reader, remote, batch_size=PAGE)
        assert interruptions >= 3, f"{interruptions} interruptions: the test tests nothing"
        assert server.front.pulled <= PULL_DOCS + PAGE * interruptions, (
            f"{server.front.pulled} docs pulled for {PULL_DOCS} with {interruptions} "
            "interruptions: a retry pulled again more than the page that was cut off")
        server.front.fail_every = None
        assert await revisions(reader) == await revisions(writer)
        again = await sync_once(reader, remote, batch_size=PAGE)
        assert again.pull.counts == {} and again.push.counts == {}, again


async def test_interrupted_push_resends_at_most_one_page_per_interruption(tmp_path: Path):
    async with running(str(tmp_path / "server.db")) as server, server.client() as (remote, user):
        writer, W = device(user.id)
        for i in range(PULL_DOCS):
            await W.create(title=f"todo {i}", order=i)
        server.front.fail_every = 2  # every second page answer is lost after the commit
        result, interruptions = await sync_until_done(writer, remote, batch_size=PAGE)
        assert interruptions >= 3, f"{interruptions} interruptions"
        assert server.front.pushed <= PULL_DOCS + PAGE * interruptions, (
            f"{server.front.pushed} docs pushed for {PULL_DOCS} with {interruptions} "
            "interruptions")
        server.front.fail_every = None
        assert await revisions(server.store) == await revisions(writer)
        unacked = [d.id for d in await writer.feed("todos", 0, 10**6) if d.base_rev != d.rev]
        assert unacked == [], f"{len(unacked)} todos pushed but never acknowledged"


async def test_a_sync_asks_the_server_only_what_it_needs(tmp_path: Path):
    """The round trips of one sync, as the live-update latency depends on them: the server's
    identity and checkpoint in one answer per direction, no push at all when nothing local is
    unsent, no count request before a pull (the first page's `remaining` gives the total) and
    no empty page after a page that said 0."""
    async with running(str(tmp_path / "server.db")) as server, server.client() as (remote, user):
        store, T = device(user.id)
        await T.create(title="milk")
        assert (await sync_once(store, remote)).conflicts == []  # the first sync: a full pull
        requests = server.front.requests
        requests.clear()
        await sync_once(store, remote)
        paths = [r.split("?")[0].split(" ", 1)[1] for r in requests]
        assert paths == ["/api/checkpoint", "/api/todos/sync/changes"], requests
        requests.clear()
        await T.create(title="bread")
        result = await sync_once(store, remote)
        assert result.push.count("applied") == 1, result.push.counts
        paths = [r.split("?")[0].split(" ", 1)[1] for r in requests]
        assert paths == ["/api/checkpoint", "/api/todos/sync/apply", "/api/checkpoint",
                         "/api/todos/sync/changes"], requests
        titles = sorted(d.data["title"] for d in await store.feed("todos", 0, 10))
        assert titles == ["bread", "milk"]
        requests.clear()
        await sync_once(store, remote)  # what the last pull brought is the server's: not sent
        paths = [r.split("?")[0].split(" ", 1)[1] for r in requests]
        assert paths == ["/api/checkpoint", "/api/todos/sync/changes"], requests
