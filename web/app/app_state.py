"""What both pages share: who is signed in, that user's local store in localStorage, the remote
store, and the sync state.

Each user's data lives under its own namespace (the app `todo:<user id>`, whose keys start with
a short prefix of a hash of it, `o` + 4 characters: models/stores/namespace.py; what earlier
versions kept under `offsync:todo:<user id>:` is moved there on open), so a second user of
the same browser sees none of the first one's todos, and a user whose session expired keeps every
local change until the next log-in. The last signed-in user is remembered locally, so the app
opens offline too. Where sync reached is kept by the local store itself, page by page
(the mark `checkpoint:server:<push|pull>:<model>`), so an interrupted sync resumes after the last
acknowledged page; earlier versions kept it in the sync state, which is still read as a fallback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import js
from fetch_transport import FetchTransport, csrf_token
from storage_bridge import StorageBridge

from models import (
    AuthenticationError,
    Checkpoints,
    RemoteStore,
    Todo,
    TodoList,
    TransportError,
    WebStorageStore,
)
from models.fields import utc_now

APP = "todo"
MODELS = [TodoList, Todo]  # lists first: a new list reaches the server before its todos
PEER = "server"  # the name the local store keeps its sync progress with the server under
SESSION_KEY = f"offsync:{APP}:session"  # the last signed-in user, for offline starts
LOGOUT_KEY = f"offsync:{APP}:logout"  # the CSRF token of a session still to end on the server
QUOTA_CHARS = 5_000_000  # Chromium refuses localStorage writes past about 5 M characters

storage = js.window.localStorage
transport = FetchTransport()
remote = RemoteStore(transport)


@dataclass
class User:
    id: str
    username: str
    expired: bool = False  # the server no longer accepts our session: log in to sync
    csrf: str = ""  # the session's CSRF token when the server last confirmed this user


def known_session_user() -> User | None:
    """The last signed-in user, without asking the server, while the session cookie is still the
    one the server confirmed for them (same CSRF token): the page opens at once and confirms the
    session in the background. After a new log-in (another token) the server is asked first."""
    if storage.getItem(LOGOUT_KEY) is not None:
        return None
    cached = _cached_user()
    token = csrf_token()
    return cached if cached is not None and token and cached.csrf == token else None


async def signed_in_user() -> User | None:
    """Ask the server who we are; offline, trust the last answer it gave."""
    if storage.getItem(LOGOUT_KEY) is not None and not await finish_log_out():
        return None  # logged out here; the server session ends once it can be reached
    cached = _cached_user()
    try:
        response = await transport("GET", "/api/auth/session")
    except TransportError:
        return cached  # offline or unreachable: keep working as the last signed-in user
    if response.status == 200 and isinstance(response.data, dict):
        user = response.data.get("user") or {}
        found = User(str(user.get("id")), str(user.get("username")),
                     csrf=str(response.data.get("csrf") or ""))
        storage.setItem(SESSION_KEY, json.dumps(
            {"id": found.id, "username": found.username, "csrf": found.csrf}))
        return found
    if response.status != 401:
        return cached  # the server is in trouble (5xx, a proxy page): not a verdict on the session
    if cached is not None:
        cached.expired = True
    return cached


def _cached_user() -> User | None:
    raw = storage.getItem(SESSION_KEY)
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
        if not data:
            return None
        return User(str(data["id"]), str(data["username"]), csrf=str(data.get("csrf") or ""))
    except (ValueError, KeyError, TypeError):
        return None


async def log_out() -> None:
    """Forget the user here and end their session on the server. The user's local data stays,
    namespaced, for their next log-in.

    The session cookie is HttpOnly, so only the server can end it: when it cannot be reached
    now, the next start ends it first (`finish_log_out`), so the browser does not silently
    sign the user back in."""
    storage.removeItem(SESSION_KEY)
    storage.setItem(LOGOUT_KEY, csrf_token())
    await finish_log_out()


async def finish_log_out() -> bool:
    """End the session a log-out left open; False while the server cannot be reached.

    This goes to the network even when the app is switched offline: logging out is not syncing.
    A session begun since (a new CSRF token) is not the one to end."""
    pending = storage.getItem(LOGOUT_KEY)
    if pending and pending == csrf_token():
        try:
            await FetchTransport()("POST", "/api/auth/logout")
        except TransportError:
            return False
    storage.removeItem(LOGOUT_KEY)
    return True


class UserData:
    """One user's local store, model class and sync state."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.namespace = f"{APP}:{user.id}"
        # a transaction's keys cross to localStorage in one call (web/app/storage_bridge.py)
        self.local = WebStorageStore(storage, app=self.namespace, batch=StorageBridge(storage))
        self.Todo = Todo.using(self.local).as_user(user.id)
        self.progress = Checkpoints(self.local, PEER)  # what `sync(..., peer=PEER)` keeps
        self.state_key = f"offsync:{self.namespace}:sync:state"  # the app's, beside the store

    def load_state(self) -> SyncState:
        return SyncState.load(self.state_key)

    async def saved_checkpoint(self, state: SyncState, direction: str,
                               store: WebStorageStore | None = None) -> int:
        """Through which checkpoint every change was pushed (`push`, a local checkpoint) or
        pulled (`pull`, a server one): the lowest over the models, as the store saved it after
        the last acknowledged page (the older sync state's value until the first sync)."""
        progress = self.progress if store is None else Checkpoints(store, PEER)
        return await progress.reached(direction, [model.collection for model in MODELS],
                                      default=state.checkpoints.get(direction, 0))

    async def pending_docs(self, state: SyncState, store: WebStorageStore | None = None) -> list:
        """Local documents with changes the server has not acknowledged yet (read from `store`,
        a snapshot of the local store, when given)."""
        store = store or self.local
        since = await self.saved_checkpoint(state, "push", store)
        return [doc for model in MODELS
                for doc in await store.feed(model.collection, since, 10**9, full=True)
                if doc.base_rev != doc.rev]


@dataclass
class SyncState:
    key: str
    online: bool = True  # the app-level switch (the go-online / go-offline buttons)
    checkpoints: dict = field(default_factory=dict)  # earlier versions' progress (a fallback)
    last_sync: str | None = None
    last_error: str | None = None

    @classmethod
    def load(cls, key: str) -> SyncState:
        raw = storage.getItem(key)
        try:
            data = json.loads(raw) if isinstance(raw, str) else {}
            return cls(
                key=key,
                online=bool(data.get("online", True)),
                checkpoints={k: int(v) for k, v in dict(data.get("checkpoints", {})).items()},
                last_sync=data.get("last_sync"),
                last_error=data.get("last_error"),
            )
        except (ValueError, TypeError, AttributeError):
            return cls(key=key)  # a damaged state only costs a full (idempotent) resync

    def save(self) -> None:
        data = asdict(self)
        data.pop("key")
        storage.setItem(self.key, json.dumps(data))

    def synced(self) -> None:
        self.checkpoints = {}  # the local store now keeps the progress of every model
        self.last_sync = utc_now()
        self.last_error = None
        self.save()


def storage_used() -> int:
    """Characters this origin keeps in localStorage (keys and values), what the quota counts."""
    total = 0
    for i in range(storage.length):
        key = storage.key(i)
        value = storage.getItem(key)
        total += len(key) + (len(value) if isinstance(value, str) else 0)
    return total


__all__ = ["APP", "MODELS", "PEER", "QUOTA_CHARS", "AuthenticationError", "SyncState", "User",
           "UserData", "known_session_user", "log_out", "remote", "signed_in_user", "storage",
           "storage_used", "transport"]
