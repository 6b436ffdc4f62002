"""The sync endpoints against a real app on a real SQLite file, and replication over HTTP:
`replicate()` and `sync()` through `RemoteStore`, exactly as between two local stores.

Everything here runs as one signed-in user whose todos are made by `Todo.as_user` (they carry
that owner), so every document is that user's; per-user sync is tested in tests/test_auth.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from models import (
    CheckpointExpiredError,
    Checkpoints,
    DatabaseChangedError,
    DictStorage,
    MemoryStore,
    RemoteStore,
    Todo,
    TransportError,
    WebStorageStore,
    replicate,
    stored_conflicts,
    sync,
)
from models.protocol import ProtocolError, doc_to_wire
from models.stores import Store
from models.todo import Todo as _Todo
from server import create_app
from server.transport import HttpxTransport
from tests.auth_helpers import sign_up

PULL = {"version": str(_Todo.version)}  # a pull names the model version it runs

CHANGES = "/api/todos/sync/changes"
APPLY = "/api/todos/sync/apply"
DIFF = "/api/todos/sync/diff"
CONFLICTS = "/api/todos/sync/conflicts"


class CountingTransport(HttpxTransport):
    """The real transport, counting the requests it sends (method, path)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client)
        self.sent: list[tuple[str, str]] = []

    async def __call__(self, method: str, path: str, **kw: Any):
        self.sent.append((method, path))
        return await super().__call__(method, path, **kw)


@pytest.fixture
def remote(client) -> RemoteStore:
    return RemoteStore(CountingTransport(client))


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status and error["code"] == code and error["message"]
    return error


async def local_todos(n: int, owner: str, store: Store | None = None
                      ) -> tuple[Store, list[Todo]]:
    """`n` todos of `owner` made in a local store (a memory store by default)."""
    store = store or MemoryStore()
    T = Todo.using(store).as_user(owner)
    return store, [await T.create(title=f"todo {i}") for i in range(n)]


async def wire_docs(store: Store) -> list[dict]:
    return [doc_to_wire(doc) for doc in await store.feed("todos", 0, 10_000)]


async def state(store: Store) -> dict[str, tuple]:
    """Every document (tombstones too) as (rev, deleted, data): equal states, equal stores."""
    return {d.id: (d.rev, d.deleted, d.data) for d in await store.feed("todos", 0, 5000)}


async def server_checkpoint(client) -> int:
    return (await client.get("/api/checkpoint")).json()["checkpoint"]


# ---- the endpoints ----------------------------------------------------------------------------

async def test_changes_apply_diff_conflicts_happy_paths(client):
    database = (await client.get("/api/checkpoint")).json()["database"]
    assert database.isdigit() and 2**52 <= int(database) < 2**53, database
    empty = (await client.get(CHANGES, params=PULL)).json()
    user = client.account.id  # todos belong to lists: the answer names what the user reads
    assert empty == {"protocol": 1, "docs": [], "checkpoint": 0, "remaining": 0,
                     "database": database, "version": _Todo.version,
                     "owners": [f"inbox-{user}", user]}

    store, todos = await local_todos(3, client.account.id)
    docs = await wire_docs(store)
    response = await client.post(APPLY, json={"protocol": 1, "docs": docs})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["protocol"] == 1 and body["checkpoint"] == 3 and body["database"] == database
    assert [r["status"] for r in body["results"]] == ["applied"] * 3
    first = body["results"][0]
    assert first["id"] == todos[0].id and first["rev"] == todos[0]._rev and first["error"] is None
    assert first["current"]["rev"] == todos[0]._rev and first["current"]["checkpoint"] == 1
    assert first["current"]["base_rev"] == todos[0]._rev  # the server now shares this revision

    page = (await client.get(CHANGES, params={**PULL, "since": 0})).json()
    assert page["protocol"] == 1 and page["checkpoint"] == 3 and page["remaining"] == 0
    assert page["database"] == database
    assert [d["id"] for d in page["docs"]] == [t.id for t in todos]
    assert page["docs"][0]["data"] == todos[0].to_dict()
    assert (await client.get(f"/api/todos/{todos[1].id}")).json()["title"] == "todo 1"

    await todos[0].update(title="edited")  # locally: one change ahead of the server
    changes = [doc.change.to_dict() for doc in await store.feed("todos", 0, 10)]
    fresh = (await local_todos(1, client.account.id))[1][0]
    changes.append((await fresh.store.feed("todos"))[0].change.to_dict())
    diff = (await client.post(DIFF, json={"protocol": 1, "changes": changes})).json()
    assert diff == {"protocol": 1, "missing": [todos[0].id, fresh.id], "conflicts": [],
                    "database": database}

    assert (await client.get(CONFLICTS, params=PULL)).json() == {"protocol": 1, "conflicts": []}


async def test_changes_come_in_pages(client):
    store, todos = await local_todos(7, client.account.id)
    await client.post(APPLY, json={"protocol": 1, "docs": await wire_docs(store)})
    since, pages = 0, []
    while True:
        page = (await client.get(CHANGES, params={**PULL, "since": since, "limit": 3})).json()
        if not page["docs"]:
            assert page["checkpoint"] == since and page["remaining"] == 0
            break
        pages.append(([d["id"] for d in page["docs"]], page["remaining"]))
        since = page["checkpoint"]
    ids = [t.id for t in todos]
    assert pages == [(ids[:3], 4), (ids[3:6], 1), (ids[6:], 0)]
    counted = (await client.get(CHANGES, params={**PULL, "since": 2, "limit": 0})).json()
    assert counted["docs"] == [] and counted["remaining"] == 5
    assert_error(await client.get(CHANGES, params={**PULL, "limit": 5001}), 400,
                 "INVALID_PARAMETER")
    assert_error(await client.get(CHANGES, params={**PULL, "since": -1}), 400, "INVALID_PARAMETER")


async def test_changes_after_a_purge_answer_410(client, app, remote):
    store, todos = await local_todos(4, client.account.id)
    await client.post(APPLY, json={"protocol": 1, "docs": await wire_docs(store)})
    for todo in todos[:2]:
        await Todo.using(app.state.store)(**todo.to_dict(), _rev=todo._rev).delete()
    assert await app.state.store.purge_tombstones("todos", 6) == 2
    error = assert_error(await client.get(CHANGES, params={**PULL, "since": 1}), 410,
                         "CHECKPOINT_EXPIRED")
    assert error["details"] == {"since": 1, "horizon": 6}
    assert (await client.get(CHANGES, params={**PULL, "since": 6})).status_code == 200
    assert len((await client.get(CHANGES, params={**PULL, "since": 0})).json()["docs"]) == 2
    with pytest.raises(CheckpointExpiredError) as info:
        await remote.feed("todos", since=3)
    assert info.value.status == 410 and info.value.details["horizon"] == 6


async def test_apply_is_idempotent(client):
    store, _ = await local_todos(3, client.account.id)
    request = {"protocol": 1, "docs": await wire_docs(store)}
    first = (await client.post(APPLY, json=request)).json()
    assert [r["status"] for r in first["results"]] == ["applied"] * 3
    # the response was lost: the client sends the very same request again
    again = (await client.post(APPLY, json=request)).json()
    assert [r["status"] for r in again["results"]] == ["unchanged"] * 3
    assert again["checkpoint"] == first["checkpoint"] == 3
    after = (await client.get(CHANGES, params={**PULL, "since": first["checkpoint"]})).json()
    assert after["docs"] == [] and after["remaining"] == 0


async def test_one_invalid_doc_is_rejected_the_rest_applies(client):
    store, todos = await local_todos(3, client.account.id)
    docs = await wire_docs(store)
    docs[1]["data"]["title"] = ""  # a client that skipped validation
    docs[2]["data"]["completed"] = "yes"
    results = (await client.post(APPLY, json={"protocol": 1, "docs": docs})).json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected"]
    assert results[1]["error"]["code"] == "VALIDATION_FAILED"
    assert "title" in results[1]["error"]["details"] and results[1]["current"] is None
    assert "completed" in results[2]["error"]["details"]
    assert (await client.get("/api/todos/count")).json() == {"count": 1}
    listed = (await client.get(CHANGES, params=PULL)).json()["docs"]
    assert [d["id"] for d in listed] == [todos[0].id]


async def test_a_malformed_doc_refuses_the_whole_batch(client):
    store, todos = await local_todos(3, client.account.id)
    docs = await wire_docs(store)
    del docs[1]["rev"]
    error = assert_error(await client.post(APPLY, json={"protocol": 1, "docs": docs}), 400,
                         "INVALID_DOC")
    assert error["details"]["index"] == 1 and error["details"]["id"] == todos[1].id
    assert "doc.rev" in error["details"]["message"] and "docs[1]" in error["message"]
    for bad in ([1], [{"id": "x", "rev": "1-a", "data": "text"}], [{"rev": "1-a", "data": {}}]):
        assert_error(await client.post(APPLY, json={"protocol": 1, "docs": bad}), 400,
                     "INVALID_DOC")
    assert_error(await client.post(APPLY, json={"protocol": 1, "docs": {}}), 400, "INVALID_BODY")
    assert_error(await client.post(APPLY, content=b"{nope", headers={
        "content-type": "application/json"}), 400, "MALFORMED_JSON")
    assert_error(await client.post(DIFF, json={"protocol": 1, "changes": [{"id": "x"}]}), 400,
                 "INVALID_CHANGE")
    assert await server_checkpoint(client) == 0
    assert (await client.get("/api/todos/count")).json() == {"count": 0}


async def test_protocol_mismatch(client):
    store, _ = await local_todos(1, client.account.id)
    docs = await wire_docs(store)
    for body in ({"docs": docs}, {"protocol": 2, "docs": docs}, {"protocol": "1", "docs": docs},
                 {"protocol": True, "docs": docs}):
        error = assert_error(await client.post(APPLY, json=body), 400, "PROTOCOL_MISMATCH")
        assert error["details"]["supported"] == [1] and '"protocol": 1' in error["message"]
    assert_error(await client.post(DIFF, json={"protocol": 0, "changes": []}), 400,
                 "PROTOCOL_MISMATCH")
    assert_error(await client.get(CHANGES, params={**PULL, "protocol": "2"}), 400,
                 "PROTOCOL_MISMATCH")
    assert (await client.get(CHANGES, params={**PULL, "protocol": "1"})).status_code == 200
    assert await server_checkpoint(client) == 0


async def test_oversize_requests_are_refused(client, tmp_path):
    store, _ = await local_todos(40, client.account.id)
    docs = await wire_docs(store)
    # bigger than the REST body limit (4096 here), well within the sync limit
    response = await client.post(APPLY, json={"protocol": 1, "docs": docs})
    assert response.status_code == 200, response.text
    too_many = {"protocol": 1, "docs": [docs[0]] * 5001}
    error = assert_error(await client.post(APPLY, json=too_many), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_items": 5000, "items": 5001}
    changes = [{"id": "x", "rev": "1-a", "checkpoint": 1, "type": "create"}] * 5001
    assert_error(await client.post(DIFF, json={"protocol": 1, "changes": changes}), 413,
                 "PAYLOAD_TOO_LARGE")

    small = create_app(f"sqlite:///{tmp_path}/small.db", max_sync_body_bytes=2048,
                       web_dir=tmp_path / "web")
    async with small.router.lifespan_context(small):
        transport = httpx.ASGITransport(app=small)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
            await sign_up(other)
            error = assert_error(await other.post(APPLY, json={"protocol": 1, "docs": docs}),
                                 413, "PAYLOAD_TOO_LARGE")
            assert error["details"] == {"max_bytes": 2048}
            remote = RemoteStore(HttpxTransport(other))
            with pytest.raises(ProtocolError) as info:
                await remote.apply("todos", await store.feed("todos", 0, 100))
            assert info.value.status == 413 and info.value.code == "PAYLOAD_TOO_LARGE"
            assert (await other.get("/api/todos/count")).json() == {"count": 0}


async def test_unknown_collection_and_wrong_method(client):
    assert_error(await client.get("/api/nope/sync/changes"), 404, "MODEL_NOT_FOUND")
    assert_error(await client.get(APPLY), 405, "METHOD_NOT_ALLOWED")


async def test_openapi_describes_the_sync_routes(client):
    spec = (await client.get("/openapi.json")).json()
    apply = spec["paths"][APPLY]["post"]
    assert apply["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SyncApplyRequest"}
    assert {"200", "400", "413"} <= set(apply["responses"])
    assert "410" in spec["paths"][CHANGES]["get"]["responses"]
    assert "SyncDoc" in spec["components"]["schemas"]
    page = (await client.get("/api/docs")).text
    assert "/api/todos/sync/apply" in page and "PROTOCOL_MISMATCH" in page


# ---- RemoteStore speaking the protocol --------------------------------------------------------

async def test_remote_store_replication_api(client, remote):
    store, todos = await local_todos(3, client.account.id)
    docs = await store.feed("todos")
    outcomes = await remote.apply("todos", docs)
    assert [o.status for o in outcomes] == ["applied"] * 3
    assert outcomes[0].current.rev == todos[0]._rev and outcomes[0].current.checkpoint == 1
    assert await remote.pending("todos", 0) == 3 and await remote.pending("todos", 2) == 1
    assert [d.id for d in await remote.feed("todos", 1, 1)] == [todos[1].id]
    assert [c.id for c in await remote.changes("todos", 0)] == [t.id for t in todos]
    await todos[2].update(title="newer")
    diff = await remote.diff("todos", [d.change for d in await store.feed("todos")])
    assert diff == {"missing": [todos[2].id], "conflicts": []}
    await remote.mark_synced("todos", docs)  # nothing to do, nothing sent
    assert await remote.conflicts("todos") == []
    with pytest.raises(NotImplementedError, match="local store"):
        await remote.record_conflict(docs[0])
    assert await remote.apply("todos", []) == []


async def test_remote_store_maps_failures(client, remote):
    store, _ = await local_todos(1, client.account.id)
    (doc,) = await store.feed("todos")
    with pytest.raises(ProtocolError) as info:
        await remote.apply("todos", [replace(doc, rev="no revision")])
    assert info.value.code == "INVALID_DOC" and info.value.status == 400
    assert info.value.details["index"] == 0

    async def down(*args: Any, **kw: Any):
        raise httpx.ConnectError("connection refused")

    with pytest.raises(TransportError, match="connection refused"):
        await RemoteStore(down).feed("todos")


class OlderServer(HttpxTransport):
    """The real server's answers with their `database` taken out, as an older server sends."""

    async def __call__(self, method: str, path: str, **kw: Any):
        response = await super().__call__(method, path, **kw)
        if isinstance(response.data, dict):
            response.data.pop("database", None)
        return response


async def test_remote_store_names_the_servers_database_and_an_older_server_still_syncs(
        client, remote):
    database = (await client.get("/api/checkpoint")).json()["database"]
    assert await remote.identity() == int(database)
    older = RemoteStore(OlderServer(client))
    assert await older.identity() is None
    local, _ = await local_todos(2, client.account.id)
    first = await sync(local, older, models=[Todo], peer="server")
    assert first.push.counts == {"applied": 2} and not first.pull.resynced
    await Todo.using(remote).create(title="from elsewhere")
    again = await sync(local, older, models=[Todo], peer="server")
    assert again.pull.counts == {"applied": 1} and not again.pull.resynced, again
    assert await state(local) == await state(remote)


async def test_an_answer_from_another_database_stops_the_replication(client, remote, tmp_path):
    """The server's database changed between two pages of one pull: the pass stops with
    DatabaseChangedError, nothing of the other database's is applied or saved, and the page
    before it was saved as the first database's."""
    other_app = create_app(f"sqlite:///{tmp_path}/other.db", web_dir=tmp_path / "web")
    async with other_app.router.lifespan_context(other_app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_app), base_url="http://test") as other:
        await sign_up(other)
        source, _ = await local_todos(4, client.account.id)
        await replicate(source, remote, models=[Todo])
        local, first_db = MemoryStore(), await remote.identity()

        def switch(phase: str, done: int, total: int) -> None:
            if phase == "pull" and done == 2:  # after the first page of two
                remote.transport.client = other

        with pytest.raises(DatabaseChangedError, match="sync again") as info:
            await sync(local, remote, models=[Todo], batch_size=2, on_progress=switch,
                       peer="server")
        assert info.value.code == "DATABASE_CHANGED"
        assert len(await local.feed("todos", 0, 100)) == 2, "only the first page is applied"
        kept = Checkpoints(local, "server")
        assert await kept.load("pull", "todos") == 2
        assert await kept.database("pull", "todos") == first_db
        remote.transport.client = client  # back to the first database: it resumes
        result = await sync(local, remote, models=[Todo], peer="server")
        assert not result.pull.resynced and result.pull.counts == {"applied": 2}, result
        assert await state(local) == await state(remote)


async def test_a_poked_sync_pulls_without_asking_where_the_server_is(client, remote):
    """A live poke's sync (nothing to push): the poke gave the checkpoint and the last answer
    named the database, so the one request is the page of changes."""
    counted = RemoteStore(CountingTransport(client))
    local, _ = await local_todos(2, client.account.id)
    await sync(local, counted, models=[Todo], peer="server")
    await Todo.using(remote).as_user(client.account.id).create(title="from another device")
    now = (await client.get("/api/checkpoint")).json()["checkpoint"]
    counted.transport.sent.clear()
    result = await sync(local, counted, models=[Todo], peer="server",
                        poked=(counted.database, now))
    sent = [(method, path.split("?")[0]) for method, path in counted.transport.sent]
    assert sent == [("GET", "/api/todos/sync/changes")], sent
    assert result.pull.counts == {"applied": 1} and not result.pull.resynced, result
    assert await state(local) == await state(remote)
    assert await Checkpoints(local, "server").load("pull", "todos") == now


async def test_a_poked_sync_that_meets_another_database_stops_and_the_next_one_resyncs(
        client, remote, tmp_path):
    """The poke's database, taken from the last answer, is not the one that answers the pull:
    the pull stops at its first page with nothing applied or saved, and a sync that asks first
    resyncs with the new database."""
    other_app = create_app(f"sqlite:///{tmp_path}/other.db", web_dir=tmp_path / "web")
    async with other_app.router.lifespan_context(other_app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other_app), base_url="http://test") as other:
        other.account = await sign_up(other)
        local, _ = await local_todos(2, client.account.id)
        await sync(local, remote, models=[Todo], peer="server")
        first_db = remote.database
        kept = Checkpoints(local, "server")
        saved = await kept.load("pull", "todos")
        before = await state(local)
        remote.transport.client = other
        await Todo.using(RemoteStore(HttpxTransport(other))).as_user(other.account.id).create(
            title="in the other database")
        with pytest.raises(DatabaseChangedError, match="sync again"):
            await sync(local, remote, models=[Todo], peer="server", poked=(first_db, 10**6))
        assert await state(local) == before, "nothing of the other database's is applied"
        assert await kept.load("pull", "todos") == saved
        assert await kept.database("pull", "todos") == first_db
        result = await sync(local, remote, models=[Todo], peer="server")
        assert result.pull.resynced and result.push.resynced, result


def test_a_database_in_an_answer_must_be_decimal_text():
    from models.protocol import read_changes_answer

    page = {"protocol": 1, "docs": [], "checkpoint": 0, "remaining": 0}
    assert read_changes_answer("todos", page, "p").database is None
    assert read_changes_answer("todos", {**page, "database": "42"}, "p").database == 42
    for bad in (42, "", "0", "-1", "4.2", "１２", "9" * 20, None):
        with pytest.raises(TransportError, match="database must be"):
            read_changes_answer("todos", {**page, "database": bad}, "p")


async def test_replicate_memory_to_server_and_back(client, remote):
    source, todos = await local_todos(5, client.account.id)
    await todos[1].delete()
    await todos[2].update(completed=True)
    pushed = await replicate(source, remote, models=[Todo], batch_size=2)
    assert pushed.counts == {"applied": 5} and pushed.conflicts == []
    applies = [p for m, p in remote.transport.sent if m == "POST"]
    assert applies == [APPLY] * 3, "one request per page of 2"
    assert await state(remote) == await state(source)

    copy = MemoryStore()
    pulled = await replicate(remote, copy, models=[Todo], batch_size=2)
    assert pulled.counts == {"applied": 5}
    assert await state(copy) == await state(source)
    again = await replicate(remote, copy, pulled.checkpoint, models=[Todo])
    assert again.counts == {} and again.checkpoint == pulled.checkpoint
    live = await Todo.using(copy).find(order="title ASC")
    assert [t.title for t in live] == ["todo 0", "todo 2", "todo 3", "todo 4"]


async def test_replicate_over_http_resyncs_after_a_purge(client, app, remote):
    source, todos = await local_todos(4, client.account.id)
    await replicate(source, remote, models=[Todo])
    mirror = MemoryStore()
    first = await replicate(remote, mirror, models=[Todo])
    server_todos = Todo.using(app.state.store)
    for todo in todos[:2]:
        await (await server_todos.find_by_id(todo.id)).delete()
    await server_todos.create(title="after", owner=client.account.id)
    await app.state.store.purge_tombstones("todos", await app.state.store.checkpoint())
    result = await replicate(remote, mirror, first.checkpoint, models=[Todo], prune_unseen=True)
    assert result.resynced
    live = await Todo.using(mirror).find(order="title ASC")
    assert [t.title for t in live] == ["after", "todo 2", "todo 3"]


# ---- sync() between browser-like clients and the server ---------------------------------------

class Client:
    """One browser: a Web Storage store and the checkpoints it keeps between syncs."""

    def __init__(self, remote: RemoteStore, owner: str) -> None:
        self.store = WebStorageStore(DictStorage())
        self.todos = Todo.using(self.store).as_user(owner)
        self.remote = remote
        self.checkpoints: dict[str, int] = {}

    async def sync(self):
        result = await sync(self.store, self.remote, self.checkpoints, models=[Todo])
        self.checkpoints = result.checkpoints
        return result


def applied(result) -> int:
    return result.push.count("applied") + result.pull.count("applied") + result.push.count(
        "merged") + result.pull.count("merged")


async def test_sync_twice_has_no_false_conflicts(client, remote):
    a, b = Client(remote, client.account.id), Client(remote, client.account.id)
    for i in range(3):
        await a.todos.create(title=f"a{i}")
    await b.todos.create(title="b0")
    for peer in (a, b, a):
        assert (await peer.sync()).conflicts == []
    for peer in (a, b):
        result = await peer.sync()
        assert result.conflicts == [] and applied(result) == 0, result
    assert await state(a.store) == await state(b.store) == await state(remote)
    assert len(await a.todos.find()) == 4


async def test_concurrent_edits_of_different_fields_merge(client, remote):
    a, b = Client(remote, client.account.id), Client(remote, client.account.id)
    todo = await a.todos.create(title="milk")
    await a.sync()
    await b.sync()
    await todo.update(title="oat milk")
    theirs = await b.todos.find_by_id(todo.id)
    await theirs.update(completed=True)
    await a.sync()
    result = await b.sync()
    assert result.conflicts == [] and result.push.count("merged") == 1
    await a.sync()
    for peer in (a, b):
        merged = await peer.todos.find_by_id(todo.id)
        assert (merged.title, merged.completed) == ("oat milk", True)
    assert await state(a.store) == await state(b.store) == await state(remote)
    assert (await a.sync()).conflicts == [] and (await b.sync()).conflicts == []


async def test_same_field_conflict_then_resolution_converges(client, remote):
    a, b = Client(remote, client.account.id), Client(remote, client.account.id)
    todo = await a.todos.create(title="milk")
    await a.sync()
    await b.sync()
    await todo.update(title="oat milk")
    theirs = await b.todos.find_by_id(todo.id)
    await theirs.update(title="soy milk")
    assert (await a.sync()).conflicts == []
    result = await b.sync()
    (conflict,) = result.conflicts
    assert conflict.id == todo.id and conflict.type() == "update"
    server_side = (await client.get(CONFLICTS, params=PULL)).json()["conflicts"]
    assert [(c["mine"]["data"]["title"], c["theirs"]["data"]["title"]) for c in server_side] == [
        ("oat milk", "soy milk")]
    (stored,) = await stored_conflicts(b.store, Todo)
    assert stored.source_doc.data["title"] == "oat milk"
    # nothing was overwritten on either side
    assert (await b.todos.find_by_id(todo.id)).title == "soy milk"
    assert (await client.get(f"/api/todos/{todo.id}")).json()["title"] == "oat milk"

    await conflict.resolve_manually({**conflict.source_doc.data, "title": "oat and soy milk"})
    assert await stored_conflicts(b.store, Todo) == []
    assert (await b.sync()).conflicts == []
    assert (await client.get(CONFLICTS, params=PULL)).json()["conflicts"] == []
    assert (await a.sync()).conflicts == []
    for peer in (a, b):
        assert (await peer.todos.find_by_id(todo.id)).title == "oat and soy milk"
        result = await peer.sync()
        assert result.conflicts == [] and applied(result) == 0
    assert await state(a.store) == await state(b.store) == await state(remote)


async def test_edit_against_delete_is_a_conflict_resolved_by_the_server_side(client, remote):
    a, b = Client(remote, client.account.id), Client(remote, client.account.id)
    todo = await a.todos.create(title="milk")
    await a.sync()
    await b.sync()
    await todo.delete()
    theirs = await b.todos.find_by_id(todo.id)
    await theirs.update(title="still needed")
    await a.sync()
    (conflict,) = (await b.sync()).conflicts
    assert conflict.type() == "delete"
    await conflict.resolve_using_source()  # the server's side: deleted
    await b.sync()
    await a.sync()
    assert await b.todos.find_by_id(todo.id) is None and await a.todos.find_by_id(todo.id) is None
    assert await state(a.store) == await state(b.store) == await state(remote)
    assert (await client.get(CONFLICTS, params=PULL)).json()["conflicts"] == []
