"""What both pages share: the local store in localStorage, the remote store, and the sync state.

The sync state (app-level online switch, checkpoints, last sync, last error) lives in
localStorage too, so it survives reloads and every tab sees the same one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import js
from fetch_transport import FetchTransport

from models import RemoteStore, Todo, WebStorageStore
from models.fields import utc_now

APP = "todo"
MODELS = [Todo]
STATE_KEY = f"offsync:{APP}:sync:state"
QUOTA_CHARS = 5_000_000  # Chromium refuses localStorage writes past about 5 M characters

storage = js.window.localStorage
local = WebStorageStore(storage, app=APP)
transport = FetchTransport()
remote = RemoteStore(transport)
LocalTodo = Todo.using(local)


@dataclass
class SyncState:
    online: bool = True  # the app-level switch (the go-online / go-offline buttons)
    checkpoints: dict = field(default_factory=dict)
    last_sync: str | None = None
    last_error: str | None = None

    @classmethod
    def load(cls) -> SyncState:
        raw = storage.getItem(STATE_KEY)
        try:
            data = json.loads(raw) if isinstance(raw, str) else {}
            return cls(
                online=bool(data.get("online", True)),
                checkpoints={k: int(v) for k, v in dict(data.get("checkpoints", {})).items()},
                last_sync=data.get("last_sync"),
                last_error=data.get("last_error"),
            )
        except (ValueError, TypeError, AttributeError):
            return cls()  # a damaged state only costs a full (idempotent) resync

    def save(self) -> None:
        storage.setItem(STATE_KEY, json.dumps(asdict(self)))

    def synced(self, checkpoints: dict) -> None:
        self.checkpoints = checkpoints
        self.last_sync = utc_now()
        self.last_error = None
        self.save()


def pending_docs(state: SyncState) -> list:
    """Local documents with changes the server has not acknowledged yet."""
    since = state.checkpoints.get("push", 0)
    return [doc for doc in local.feed_docs(Todo.collection, since, 10**9) if doc.base_rev != doc.rev]


def storage_used() -> int:
    """Characters this origin keeps in localStorage (keys and values), what the quota counts."""
    total = 0
    for i in range(storage.length):
        key = storage.key(i)
        value = storage.getItem(key)
        total += len(key) + (len(value) if isinstance(value, str) else 0)
    return total
