"""Shared lists through the real app (SQLite, then PostgreSQL): sync that follows access.

Devices are local stores syncing with `models.sync` over `RemoteStore` and the app in process.
A member added receives the list and all its todos at the next pull, however old; a member
removed has them forgotten on every device at its next sync, their unsynced edits refused by
the server and kept on the device (`models/kept.py`); a stranger never sees anything.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from models import MemoryStore, RemoteStore, Todo, TodoList, sync
from models.errors import AccessDeniedError
from models.kept import dismiss, export, kept_documents
from models.stores import Store
from server.transport import HttpxTransport
from tests.auth_helpers import Account, assert_error, client_of, sign_up

CHANGES = "/api/todos/sync/changes"


@dataclass
class Person:
    http: httpx.AsyncClient
    account: Account

    @property
    def id(self) -> str:
        return self.account.id


class Device:
    """One device of a person: its own store, syncing with the server as that person."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.store: Store = MemoryStore()
        self.remote = RemoteStore(HttpxTransport(person.http))
        self.Lists = TodoList.using(self.store).as_user(person.id)
        self.Todos = Todo.using(self.store).as_user(person.id)

    async def sync(self):
        return await sync(self.store, self.remote, peer="server")

    async def titles(self) -> list[str]:
        return sorted(t.title for t in await self.Todos.find())

    async def lists(self) -> list[str]:
        return sorted(x.name for x in await self.Lists.find())


@contextlib.asynccontextmanager
async def people(app, *names: str) -> AsyncIterator[list[Person]]:
    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as stack:
        out = []
        for i, name in enumerate(names):
            http = await stack.enter_async_context(client_of(app, f"127.0.0.{i + 2}"))
            out.append(Person(http, await sign_up(http, name)))
        yield out


async def share(device: Device, list_id: str, **members: str) -> None:
    mine = await device.Lists.find_by_id(list_id)
    await mine.update(members=members)
    await device.sync()


async def test_a_member_added_gets_the_list_and_all_its_old_todos(app):
    async with people(app, "ann", "bob", "stan") as (ann, bob, stan):
        a, b, b2, s = Device(ann), Device(bob), Device(bob), Device(stan)
        shopping = await a.Lists.create(name="Shopping")
        for title in ("milk", "eggs", "bread"):
            await a.Todos.create(title=title, list_id=shopping.id)
        await a.Todos.create(title="ann's own")
        await a.sync()
        for device in (b, b2, s):
            await device.sync()
        assert await b.titles() == [] and await b.lists() == []
        await (await a.Todos.find_one(where={"title": "bread"})).delete()
        await a.sync()
        for _ in range(3):  # pulls that moved bob's checkpoint past ann's todos
            await b.sync()

        await share(a, shopping.id, **{bob.id: "editor"})
        await b.sync()
        assert await b.lists() == ["Shopping"] and await b.titles() == ["eggs", "milk"]
        await b2.sync()  # the other device, which slept through all of it
        assert await b2.titles() == ["eggs", "milk"]
        assert await b.Todos.count(where={"title": "ann's own"}) == 0, "only the shared list"
        await s.sync()
        assert await s.titles() == [] and await s.lists() == []
        held = {d.owner for d in await s.store.feed("todos", 0, 100)}
        assert held == set(), held


async def test_editors_write_viewers_read_the_server_refuses_what_the_page_refuses(app):
    async with people(app, "ann", "bob", "vic", "stan") as (ann, bob, vic, stan):
        a, b, v = Device(ann), Device(bob), Device(vic)
        shopping = await a.Lists.create(name="Shopping",
                                        members={bob.id: "editor", vic.id: "viewer"})
        milk = await a.Todos.create(title="milk", list_id=shopping.id)
        await a.sync()
        await b.sync()
        await v.sync()
        await (await b.Todos.find_by_id(milk.id)).update(completed=True)
        await b.Todos.create(title="eggs", list_id=shopping.id)
        await b.sync()
        await a.sync()
        assert sorted((t.title, t.completed) for t in await a.Todos.find()) == [
            ("eggs", False), ("milk", True)]

        await v.sync()
        theirs = await v.Todos.find_by_id(milk.id)
        local = None
        try:
            await theirs.update(title="vic's")
        except AccessDeniedError as exc:
            local = exc.message
        assert local == "WRITE on todos is not allowed"
        server = assert_error(await vic.http.patch(f"/api/todos/{milk.id}",
                                                   json={"title": "vic's"}), 403, "ACCESS_DENIED")
        assert server["message"] == local, "the same words on both sides"
        # the stranger: every route answers as for an id that does not exist
        for path in (f"/api/todos/{milk.id}", f"/api/todolists/{shopping.id}"):
            assert_error(await stan.http.get(path), 404, "NOT_FOUND")
            assert_error(await stan.http.patch(path, json={"title": "x", "name": "x"}),
                         404, "NOT_FOUND")
            assert_error(await stan.http.delete(path), 404, "NOT_FOUND")
        sneaked = await stan.http.post("/api/todos", json={"title": "x", "list_id": shopping.id})
        assert_error(sneaked, 403, "ACCESS_DENIED")
        for path in ("/api/todos", "/api/todolists"):
            listed = await stan.http.get(path)
            assert listed.status_code == 200 and listed.json() == [], listed.text
        page = (await stan.http.get(CHANGES, params={"version": str(Todo.version)})).json()
        assert page["docs"] == [] and page["remaining"] == 0
        assert shopping.id not in json.dumps(page)
        # a viewer may not take the list over, nor an editor share it further
        assert_error(await bob.http.patch(f"/api/todolists/{shopping.id}",
                                          json={"members": {stan.id: "editor"}}),
                     403, "ACCESS_DENIED")


async def test_a_removed_member_forgets_the_list_and_keeps_their_unsynced_edit(app):
    async with people(app, "ann", "bob") as (ann, bob):
        a, b, b2 = Device(ann), Device(bob), Device(bob)
        shopping = await a.Lists.create(name="Shopping", members={bob.id: "editor"})
        milk = await a.Todos.create(title="milk", list_id=shopping.id)
        await a.Todos.create(title="eggs", list_id=shopping.id)
        await a.sync()
        await b.sync()
        await b2.sync()
        await b.Todos.create(title="bob's own")
        await b.sync()
        # offline, bob edits milk and adds a todo; meanwhile ann unshares
        await (await b.Todos.find_by_id(milk.id)).update(title="oat milk")
        await b.Todos.create(title="butter", list_id=shopping.id)
        await share(a, shopping.id)

        result = await b.sync()
        assert sorted(r["error"]["code"] for r in result.push.rejected) == [
            "ACCESS_DENIED", "ACCESS_DENIED"], result.push.rejected
        assert await b.lists() == [] and await b.titles() == ["bob's own"]
        assert {d.owner for d in await b.store.feed("todos", 0, 100)} <= {
            f"inbox-{bob.id}", bob.id}, "nothing of the list is left on the device"
        kept = await kept_documents(b.store, "todos")
        assert sorted(d.data["title"] for d in kept) == ["butter", "oat milk"]
        assert "oat milk" in export({"todos": kept})
        await a.sync()
        assert sorted(t.title for t in await a.Todos.find()) == ["eggs", "milk"], \
            "the server did not apply them"
        await b.sync()
        assert len(await kept_documents(b.store, "todos")) == 2, "kept until dismissed"
        assert await dismiss(b.store, "todos") == 2
        assert await kept_documents(b.store, "todos") == []

        await b2.sync()  # offline while it happened, nothing unsynced: it just forgets
        assert await b2.lists() == [] and await b2.titles() == ["bob's own"]
        assert await kept_documents(b2.store, "todos") == []

        await share(a, shopping.id, **{bob.id: "viewer"})  # shared again: all of it again
        await b2.sync()
        assert await b2.lists() == ["Shopping"]
        assert await b2.titles() == ["bob's own", "eggs", "milk"]


async def test_a_members_pull_pages_are_never_empty_while_some_remain(app):
    """The feed is narrowed by readable owners inside the query, so each page's checkpoint and
    `remaining` count only what the member reads: no empty page with remaining > 0."""
    async with people(app, "ann", "bob") as (ann, bob):
        a = Device(ann)
        shared = await a.Lists.create(name="Shared", members={bob.id: "viewer"})
        for i in range(30):
            await a.Todos.create(title=f"private {i}")
            if i % 3 == 0:
                await a.Todos.create(title=f"shared {i}", list_id=shared.id)
        await a.sync()
        since, seen, pages = 0, [], 0
        while True:
            page = (await bob.http.get(CHANGES, params={
                "since": str(since), "limit": "3", "version": str(Todo.version)})).json()
            pages += 1
            assert page["docs"] or page["remaining"] == 0, page
            assert page["owners"] == sorted([shared.id, f"inbox-{bob.id}"]) + [bob.id]
            seen += [d["data"]["title"] for d in page["docs"]]
            since = page["checkpoint"]
            if page["remaining"] == 0:
                break
        assert sorted(seen) == sorted(f"shared {i}" for i in range(0, 30, 3)) and pages == 4


async def test_live_pokes_reach_every_member_and_no_stranger(app):
    async with people(app, "ann", "bob", "stan") as (ann, bob, stan):
        a, b = Device(ann), Device(bob)
        hub = app.state.live
        streams = {p.id: hub.open(p.id, f"session-{p.id}") for p in (ann, bob, stan)}
        shopping = await a.Lists.create(name="Shopping")
        await a.sync()
        for stream in streams.values():
            stream.take()
        await share(a, shopping.id, **{bob.id: "viewer"})
        await b.sync()
        assert streams[bob.id].take() is not None, "added: poked"
        for stream in streams.values():
            stream.take()
        made = await ann.http.post("/api/todos", json={"title": "milk", "list_id": shopping.id})
        assert made.status_code == 201, made.text
        assert streams[ann.id].take() is not None and streams[bob.id].take() is not None
        assert streams[stan.id].take() is None, "a stranger is never poked"


async def test_a_member_who_leaves_forgets_the_list_on_every_device(app):
    async with people(app, "ann", "bob") as (ann, bob):
        a, b, b2 = Device(ann), Device(bob), Device(bob)
        shopping = await a.Lists.create(name="Shopping", members={bob.id: "viewer"})
        await a.Todos.create(title="milk", list_id=shopping.id)
        await a.sync()
        await b.sync()
        await b2.sync()
        assert await b2.titles() == ["milk"]
        theirs = await b.Lists.find_by_id(shopping.id)
        await theirs.update(members={})  # a viewer may write this much: leave
        result = await b.sync()
        assert result.push.rejected == [], result.push.rejected
        assert await b.lists() == [] and await b.titles() == []
        await b2.sync()
        assert await b2.lists() == [] and await b2.titles() == []
        await a.sync()
        assert (await a.Lists.find_by_id(shopping.id)).members == {}


async def test_deleting_a_list_deletes_its_todos_and_every_device_forgets_them(app):
    """Only the owner deletes a list; the server deletes its todos with it (tombstones, by
    REST or by a device's sync alike), every member's device forgets the list and its todos,
    an edit a member had not synced is kept on their device, and the list's id taken again
    once its tombstone is purged brings none of the old todos back."""
    async with people(app, "ann", "bob", "vic") as (ann, bob, vic):
        a, b, v = Device(ann), Device(bob), Device(vic)
        shopping = await a.Lists.create(name="Shopping",
                                        members={bob.id: "editor", vic.id: "viewer"})
        for title in ("milk", "eggs"):
            await a.Todos.create(title=title, list_id=shopping.id)
        await a.Todos.create(title="ann's own")
        await a.sync()
        await b.sync()
        await v.sync()
        assert await b.titles() == ["eggs", "milk"] == await v.titles()
        await (await b.Todos.find_one(where={"title": "milk"})).update(title="oat milk")
        await b.Todos.create(title="butter", list_id=shopping.id)
        assert_error(await bob.http.delete(f"/api/todolists/{shopping.id}"), 403,
                     "ACCESS_DENIED")

        await (await a.Lists.find_by_id(shopping.id)).delete()
        assert await a.titles() == ["ann's own"], "gone on the owner's device at once"
        await a.sync()
        server = app.state.store
        for doc in await server.feed("todos", 0, 100, owner=shopping.id):
            assert doc.deleted and doc.data is None, doc
        assert await a.titles() == ["ann's own"] and await a.lists() == []
        for device in (b, v):
            await device.sync()
            assert await device.titles() == [] and await device.lists() == []
            assert {d.owner for d in await device.store.feed("todos", 0, 100)} <= {
                f"inbox-{device.person.id}", device.person.id}
        assert sorted(d.data["title"] for d in await kept_documents(b.store, "todos")) == [
            "butter", "oat milk"], "bob's unsynced edits are kept on his device"

        # by REST too
        other = (await ann.http.post("/api/todolists", json={"name": "Other"})).json()
        made = await ann.http.post("/api/todos", json={"title": "x", "list_id": other["id"]})
        assert made.status_code == 201, made.text
        assert (await ann.http.delete(f"/api/todolists/{other['id']}")).status_code == 200
        assert (await server.get_any("todos", made.json()["id"])).deleted

        # the id taken again after the purge of the list's tombstone: nothing comes back
        await server.purge_tombstones("todolists", await server.checkpoint())
        again = await vic.http.post("/api/todolists", json={"id": shopping.id, "name": "mine"})
        assert again.status_code == 201, again.text
        page = (await vic.http.get(CHANGES, params={"version": str(Todo.version)})).json()
        assert all(d["deleted"] and d["data"] is None for d in page["docs"]), page
        assert "milk" not in json.dumps(page) and "eggs" not in json.dumps(page), json.dumps(page)


async def test_a_member_added_receives_no_earlier_version_and_no_deleted_body(app):
    """Documents written on the server after a device synced them (REST) keep that device's
    revision as their merge base, body included; the restamp that brings a list to a new
    member drops it, so the member reads the list as it is, never an earlier title or the
    body of a deleted todo."""
    async with people(app, "ann", "bob") as (ann, bob):
        a = Device(ann)
        party = await a.Lists.create(name="Party")
        secret = await a.Todos.create(title="surprise for bob", list_id=party.id)
        gift = await a.Todos.create(title="gift for bob", list_id=party.id)
        await a.sync()
        assert (await ann.http.delete(f"/api/todos/{secret.id}")).status_code == 200
        assert (await ann.http.patch(f"/api/todos/{gift.id}",
                                     json={"title": "balloons"})).status_code == 200
        await share(a, party.id, **{bob.id: "viewer"})
        page = (await bob.http.get(CHANGES, params={"version": str(Todo.version)})).json()
        assert sorted(d["id"] for d in page["docs"]) == sorted([secret.id, gift.id])
        assert "for bob" not in json.dumps(page), page
        b = Device(bob)
        await b.sync()
        assert await b.titles() == ["balloons"]
        await (await a.Todos.find_by_id(gift.id)).update(completed=True)  # ann's device
        await a.sync()  # merges over the server's edit as before: its own base is on the device
        assert (await ann.http.get(f"/api/todos/{gift.id}")).json()["title"] == "balloons"
        await b.sync()
        assert [(t.title, t.completed) for t in await b.Todos.find()] == [("balloons", True)]


async def test_a_todo_cannot_leave_its_list_so_no_reader_keeps_a_ghost(app):
    """A pull reads by list, so a todo moved out of a list would stay forever on the devices
    of its readers who may not read the other one. The server refuses the move (REST and
    sync, with the page's words); moving is deleting and creating, and the tombstone reaches
    every reader."""
    async with people(app, "ann", "bob") as (ann, bob):
        a, b = Device(ann), Device(bob)
        shopping = await a.Lists.create(name="Shopping", members={bob.id: "viewer"})
        milk = await a.Todos.create(title="milk", list_id=shopping.id)
        await a.sync()
        await b.sync()
        moved = await ann.http.patch(f"/api/todos/{milk.id}",
                                     json={"list_id": f"inbox-{ann.id}"})
        error = assert_error(moved, 422, "VALIDATION_FAILED")
        local = None
        try:
            await (await a.Todos.find_by_id(milk.id)).update(list_id=f"inbox-{ann.id}")
        except Exception as exc:  # the same refusal on the device
            local = exc.message
        assert local == error["message"]
        doc = await a.store.get("todos", milk.id)
        body = {**doc.data, "list_id": f"inbox-{ann.id}"}
        pushed = await ann.http.post("/api/todos/sync/apply", json={
            "protocol": 1, "version": Todo.version, "docs": [{
                "id": milk.id, "rev": "2-" + "a" * 32, "history": [doc.rev], "data": body,
                "base_rev": doc.rev}]})
        [result] = pushed.json()["results"]
        assert result["status"] == "rejected" and "list_id" in result["error"]["details"]
        await (await a.Todos.find_by_id(milk.id)).delete()
        await a.Todos.create(title="milk")
        await a.sync()
        await b.sync()
        assert await b.titles() == [] and await a.titles() == ["milk"]
