"""Model versions on the server (SQLite and PostgreSQL): a push from a client still on version 1
is migrated and accepted, and merges with a version 2 edit; its pull is refused with 409
UPDATE_REQUIRED; a client ahead of the server is refused; a database written by version 1 is
migrated at start-up; a model change that cannot be migrated stops the server from starting."""

from __future__ import annotations

import pytest

from models import MemoryStore, Model, String, Todo, replicate
from models.errors import ModelVersionError, UpdateRequiredError
from models.protocol import doc_to_wire
from models.stores import RemoteStore
from models.stores.migrate import stored_version
from server import create_app
from server.stores import open_store
from server.transport import HttpxTransport
from tests.auth_helpers import assert_error, signed_in_client
from tests.model_cases.versions import TodoV1

CHANGES = "/api/todos/sync/changes"
APPLY = "/api/todos/sync/apply"
CONFLICTS = "/api/todos/sync/conflicts"


def v1_tab(client) -> tuple[MemoryStore, type[TodoV1], RemoteStore]:
    """A tab still running version 1: its local store, its model, its remote store."""
    local = MemoryStore()
    return local, TodoV1.using(local).as_user(client.account.id), RemoteStore(
        HttpxTransport(client), models={"todos": TodoV1})


async def test_a_v1_push_is_migrated_and_accepted_and_its_pull_refused(client):
    local, Old, remote = v1_tab(client)
    for title in ("milk", "bread"):
        await Old.create(title=title)
    pushed = await replicate(local, remote, None, models=[TodoV1])
    assert pushed.counts == {"applied": 2} and pushed.rejected == [], pushed.counts
    listed = (await client.get("/api/todos")).json()
    assert sorted((t["title"], t["due"]) for t in listed) == [("bread", None), ("milk", None)]

    pull = RemoteStore(HttpxTransport(client), models={"todos": TodoV1})
    with pytest.raises(UpdateRequiredError) as refused:
        await replicate(pull, MemoryStore(), None, models=[TodoV1])
    assert refused.value.details == {"model": "Todo", "collection": "todos",
                                     "client_version": 1, "server_version": Todo.version}
    for path in (CHANGES, CONFLICTS):  # an old client sends no version: it is version 1
        error = assert_error(await client.get(path), 409, "UPDATE_REQUIRED")
        assert "reload" in error["message"] and error["details"]["server_version"] == Todo.version
    current = await client.get(CHANGES, params={"version": str(Todo.version)})
    assert current.status_code == 200 and current.json()["version"] == Todo.version


async def test_a_v1_edit_merges_with_a_v2_edit_of_another_field(client):
    local, Old, remote = v1_tab(client)
    todo = await Old.create(title="milk")
    await replicate(local, remote, None, models=[TodoV1])
    changed = await client.patch(f"/api/todos/{todo.id}", json={"due": "2026-12-24"})
    assert changed.status_code == 200, changed.text
    await todo.update(title="oat milk")  # offline, under version 1
    pushed = await replicate(local, remote, None, models=[TodoV1])
    assert pushed.counts == {"merged": 1} and pushed.conflicts == [], pushed.counts
    server = (await client.get(f"/api/todos/{todo.id}")).json()
    assert (server["title"], server["due"]) == ("oat milk", "2026-12-24"), server

    # the tab reloads with version 2: its store migrates, and it pulls the merge
    from models.stores.migrate import migrate_store
    await migrate_store(local, [Todo])
    new = RemoteStore(HttpxTransport(client))
    await replicate(new, local, None, models=[Todo])
    mine = await Todo.using(local).find_by_id(todo.id)
    assert (mine.title, mine.due, mine._rev) == ("oat milk", "2026-12-24", server["_rev"])


async def test_a_client_ahead_of_the_server_is_refused_before_writing(client):
    local, New, _ = v1_tab(client)
    doc = await Todo.using(local).as_user(client.account.id).create(title="from the future")
    wire = doc_to_wire(await local.get("todos", doc.id))
    ahead = str(Todo.version + 1)
    assert_error(await client.get(CHANGES, params={"version": ahead}), 409, "VERSION_AHEAD")
    for bad in ("0", "two", "2.0"):
        assert_error(await client.get(CHANGES, params={"version": bad}), 400,
                     "INVALID_PARAMETER")
    body = {"protocol": 1, "version": Todo.version + 1, "docs": [wire]}
    assert_error(await client.post(APPLY, json=body), 409, "VERSION_AHEAD")
    assert_error(await client.post(APPLY, json={**body, "version": "two"}), 400, "INVALID_BODY")
    assert (await client.get("/api/todos")).json() == []
    accepted = await client.post(APPLY, json={**body, "version": Todo.version})
    assert accepted.json()["results"][0]["status"] == "applied", accepted.text


def test_a_model_change_that_cannot_be_migrated_stops_the_server(tmp_path):
    class Gap(Model):
        collection = "gaps"
        name = String()
        version = 3
        migrations = {1: lambda data: data}

    with pytest.raises(ModelVersionError) as refused:
        create_app(f"sqlite:///{tmp_path}/offsync.db", models_map={"gaps": Gap},
                   web_dir=tmp_path / "web")
    assert "Gap version 3" in str(refused.value) and "from version 2" in str(refused.value)


async def test_a_database_written_by_version_1_is_migrated_at_start(tmp_path, database_url):
    async with open_store(database_url) as store:  # what the version 1 server left
        Old = TodoV1.using(store)
        for title in ("milk", "bread", "eggs"):
            await Old.create(title=title, owner="someone")
        await (await Old.find_one(where={"title": "eggs"})).delete()
        before = {d.id: d for d in await store.feed("todos", 0, 100)}
        assert await stored_version(store, "todos") == 1
    app = create_app(database_url, web_dir=tmp_path / "web")
    async with signed_in_client(app):
        store = app.state.store
        assert await stored_version(store, "todos") == Todo.version
        after = {d.id: d for d in await store.feed("todos", 0, 100)}
        assert set(after) == set(before)
        for id, doc in after.items():
            assert (doc.rev, doc.checkpoint) == (before[id].rev, before[id].checkpoint)
            assert doc.data == (None if doc.deleted else {
                **before[id].data, "due": None, "list_id": "inbox-someone"})  # versions 2, 3


def test_the_cli_migrates_a_version_1_file_before_replicating_it(tmp_path):
    import asyncio

    from models.stores.sqlite import SQLiteStore
    from server.cli import main

    source, target = tmp_path / "old.db", tmp_path / "new.db"

    async def write_v1() -> None:
        store = SQLiteStore(str(source))
        await TodoV1.using(store).create(title="milk", owner="someone")
        store.close()

    asyncio.run(write_v1())
    assert main(["replicate", f"sqlite:///{source}", f"sqlite:///{target}"]) == 0

    async def read(path) -> list:
        store = SQLiteStore(str(path))
        try:
            return [(d.data, await stored_version(store, "todos"))
                    for d in await store.feed("todos", 0, 10)]
        finally:
            store.close()

    for path in (source, target):
        ((data, version),) = asyncio.run(read(path))
        assert (data["title"], data["due"], data["list_id"], version) == (
            "milk", None, "inbox-someone", Todo.version), (path, data)
