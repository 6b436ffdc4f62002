"""Usernames for the user ids lists are keyed by: the share dialog resolves a username to an
id (`GET /api/users/lookup`), and the members panel shows the names of those who share a list
with this user (`GET /api/users/shared`), remembered in this browser so they show offline too.

The server names no one else (server/people.py); a member whose name was never fetched shows as
the start of their id until the next refresh.
"""

from __future__ import annotations

import json

from app_state import storage, transport

from models import OffsyncError, TransportError


class People:
    def __init__(self, namespace: str, me: str, my_name: str) -> None:
        self.key = f"offsync:{namespace}:people"
        self.names: dict[str, str] = self._load()
        self.names[me] = my_name

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(storage.getItem(self.key) or "{}")
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (ValueError, TypeError, AttributeError):
            return {}

    def _save(self) -> None:
        storage.setItem(self.key, json.dumps(self.names))

    def name(self, user_id: str) -> str:
        return self.names.get(user_id) or f"user {user_id[:8]}…"

    async def refresh(self) -> bool:
        """Ask the server for the names of those who share a list with us (False offline)."""
        try:
            response = await transport("GET", "/api/users/shared")
        except TransportError:
            return False
        if response.status != 200 or not isinstance(response.data, dict):
            return False
        for user in response.data.get("users") or []:
            if isinstance(user, dict) and user.get("id") and user.get("username"):
                self.names[str(user["id"])] = str(user["username"])
        self._save()
        return True

    async def lookup(self, username: str) -> str:
        """The id of the user called `username`; OffsyncError with what to tell the user."""
        try:
            response = await transport("GET", "/api/users/lookup",
                                       params={"username": username.strip()})
        except TransportError:
            raise OffsyncError("Sharing needs the server: go online to find "
                               f"{username.strip()!r}.") from None
        data = response.data if isinstance(response.data, dict) else {}
        if response.status != 200:
            error = data.get("error") or {}
            raise OffsyncError(str(error.get("message") or f"HTTP {response.status}"))
        user = data.get("user") or {}
        self.names[str(user["id"])] = str(user["username"])
        self._save()
        return str(user["id"])
