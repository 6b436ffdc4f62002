"""The clients of the fault suite: devices that keep a local store and sync through `RemoteStore`
over HTTP as the CLI does, and a thin client that writes through REST. Both retry what failed on
the network until it is done, as a real client would, and tell the oracle every write they made.

Ids and clocks are given, never drawn at random or read from the wall, so a seeded run makes the
same requests again.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from models import DictStorage, MemoryStore, Todo, WebStorageStore, sync
from models.errors import TransportError
from models.replication import SyncResult
from models.stores.remote import ProtocolError, RemoteStore
from models.stores.sqlite import SQLiteStore
from models.todo import Todo as _Todo
from server.transport import HttpxTransport
from tests.auth_helpers import Account
from tests.clock import Clock
from tests.fault_oracle import Oracle

PULL = {"version": str(_Todo.version)}  # a pull names the model version it runs

MAX_ATTEMPTS = 200  # a guard against a client that can never finish, not a time limit
STORE_KINDS = ("memory", "webstorage", "sqlite")


async def backoff(attempt: int) -> None:
    await asyncio.sleep(0.01 * min(2 ** attempt, 20))


def make_store(kind: str, directory: Path, name: str):
    if kind == "memory":
        return MemoryStore()
    if kind == "webstorage":
        return WebStorageStore(DictStorage(), app=name)
    return SQLiteStore(str(directory / f"{name}.db"))


class Client:
    """Something that writes for one user over its own session (its own cookie and token)."""

    def __init__(self, name: str, account: Account, http: httpx.AsyncClient,
                 oracle: Oracle) -> None:
        self.name = name
        self.account = account
        self.http = http
        self.oracle = oracle
        self.own: list[str] = []  # ids this client created; it alone writes them
        self.live: list[str] = []
        self.retries = 0
        self._created = 0

    def new_id(self) -> str:
        self._created += 1
        return f"{self.name}-{self._created}"


class Device(Client):
    """A device with a local store: it writes locally, then syncs (push, then pull)."""

    def __init__(self, name: str, account: Account, http: httpx.AsyncClient, oracle: Oracle,
                 store: Any, clock: Clock, batch_size: int = 5) -> None:
        super().__init__(name, account, http, oracle)
        self.store = store
        self.model = Todo.using(store).as_user(account.id)
        self.model.clock = clock
        self.remote = RemoteStore(HttpxTransport(http))
        self.checkpoints: dict[str, int] = {}
        self.batch_size = batch_size
        self.conflicts_seen: list[str] = []
        self.rejected: list[dict] = []

    async def create(self, order: int) -> None:
        id = self.new_id()
        title = self.oracle.created(self.account.id, id, self.name)
        await self.model.create(id=id, title=title, order=order)
        self.own.append(id)
        self.live.append(id)

    async def retitle(self, id: str) -> None:
        todo = await self.model.find_by_id(id)
        await todo.update(title=self.oracle.retitled(id))

    async def toggle(self, id: str) -> None:
        todo = await self.model.find_by_id(id)
        await todo.update(completed=self.oracle.toggled(id, not todo.completed))

    async def delete(self, id: str) -> None:
        todo = await self.model.find_by_id(id)
        await todo.delete()
        self.oracle.deleted(id)
        self.live.remove(id)

    async def sync_once(self) -> SyncResult:
        result = await sync(self.store, self.remote, self.checkpoints, models=[Todo],
                            batch_size=self.batch_size)
        self.checkpoints = result.checkpoints
        self.conflicts_seen += [f"{self.name}: {c.id}" for c in result.conflicts]
        self.rejected += result.push.rejected + result.pull.rejected
        return result

    async def sync(self) -> SyncResult:
        """Sync until one whole sync went through (every failure is retried from the start)."""
        for attempt in range(MAX_ATTEMPTS):
            try:
                return await self.sync_once()
            except ProtocolError:
                raise  # the server refused our protocol: a bug, not a network failure
            except TransportError:
                self.retries += 1
                await backoff(attempt)
        raise AssertionError(f"{self.name} could not sync in {MAX_ATTEMPTS} attempts")

    async def documents(self) -> dict[str, tuple[str, dict]]:
        return {doc.id: (doc.rev, doc.data) for doc in await self.store.find("todos",
                                                                             Todo.query())}

    async def stored_conflicts(self) -> list[str]:
        return [f"{self.name}: {theirs.id}" for _, theirs in await self.store.conflicts("todos")]


class RestWriter(Client):
    """A thin client with no local store: every write is a REST request, retried until an answer
    says it is done. A create carries the id the client made, so a retried create whose first
    answer was lost finds its todo (409) instead of making a second one."""

    async def _request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        for attempt in range(MAX_ATTEMPTS):
            try:
                kw = {} if body is None else {"json": body}
                return await self.http.request(method, path, **kw)
            except httpx.TransportError:
                self.retries += 1
                await backoff(attempt)
        raise AssertionError(f"{self.name}: {method} {path} failed {MAX_ATTEMPTS} times")

    async def create(self, order: int) -> None:
        id = self.new_id()
        title = self.oracle.created(self.account.id, id, self.name)
        body = {"id": id, "title": title, "order": order}
        for attempt in range(MAX_ATTEMPTS):
            response = await self._request("POST", "/api/todos", body)
            if response.status_code == 201:
                break
            if response.status_code == 409:  # an earlier try got through, its answer did not
                found = await self._request("GET", f"/api/todos/{id}")
                assert found.status_code == 200, f"{self.name}: 409 for {id}, then {found.text}"
                assert found.json()["title"] == title, f"{id} holds {found.json()}"
                break
            self.retries += 1
            assert response.status_code >= 500, f"{self.name}: create {response.text}"
            await backoff(attempt)
        self.own.append(id)
        self.live.append(id)

    async def _patch(self, id: str, changes: dict) -> None:
        response = await self._request("PATCH", f"/api/todos/{id}", changes)
        assert response.status_code == 200, f"{self.name}: PATCH {id} {changes}: {response.text}"

    async def retitle(self, id: str) -> None:
        await self._patch(id, {"title": self.oracle.retitled(id)})

    async def toggle(self, id: str) -> None:
        found = await self._request("GET", f"/api/todos/{id}")
        assert found.status_code == 200, found.text
        await self._patch(id, {"completed": self.oracle.toggled(id, not found.json()["completed"])})

    async def delete(self, id: str) -> None:
        self.oracle.deleted(id)
        self.live.remove(id)
        first = True
        for attempt in range(MAX_ATTEMPTS):
            response = await self._request("DELETE", f"/api/todos/{id}")
            if response.status_code == 200 or (response.status_code == 404 and not first):
                return  # a 404 after a try whose answer was lost: that try deleted it
            first = False
            self.retries += 1
            await backoff(attempt)
        raise AssertionError(f"{self.name}: DELETE {id} never answered")

    async def server_view(self) -> dict[str, dict]:
        """What the server holds for this client's user, read through REST."""
        response = await self.http.get("/api/todos",
                                        params={"filter": json.dumps({"limit": 10000})})
        assert response.status_code == 200, response.text
        return {todo["id"]: todo for todo in response.json()}

    async def server_conflicts(self) -> list[str]:
        response = await self.http.get("/api/todos/sync/conflicts", params=PULL)
        assert response.status_code == 200, response.text
        return [f"server: {pair['theirs']['id']}" for pair in response.json()["conflicts"]]

    async def can_read(self, id: str) -> bool:
        response = await self.http.get(f"/api/todos/{id}")
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200
