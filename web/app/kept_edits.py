"""What this user wrote, unsynced, in a list that was unshared from them meanwhile.

The server refuses those edits and the sync forgets the list (models/kept.py keeps them aside,
outside replication); this banner tells the user the list is no longer shared with them,
lists what they wrote, and offers it as a JSON file (Export) until they Dismiss it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app_state import UserData
from dom import by_testid, download, element, on

from models import Todo
from models.kept import dismiss, export, kept_documents


class KeptEdits:
    def __init__(self, data: UserData, name_of: Callable[[str], str]) -> None:
        self.data = data
        self.name_of = name_of  # a list's name, also once forgotten here (list_picker.py)
        self.docs: list = []

    async def refresh(self) -> None:
        self.docs = await kept_documents(self.data.local, Todo.collection)
        banner = by_testid("kept-banner")
        banner.hidden = not self.docs
        if not self.docs:
            return
        lists = sorted({str((doc.data or {}).get("list_id") or doc.owner) for doc in self.docs})
        names = ", ".join(repr(self.name_of(id)) for id in lists)
        by_testid("kept-text").textContent = (
            f"The list{'s' if len(lists) > 1 else ''} {names} "
            f"{'are' if len(lists) > 1 else 'is'} no longer shared with you; your unsynced "
            "changes are kept here.")
        items = []
        for doc in self.docs:
            data = doc.data or {}
            text = str(data.get("title") or "")
            if data.get("completed"):
                text += " (done)"
            items.append(element("li", testid="kept-item", text=text))
        by_testid("kept-list").replaceChildren(*items)

    async def dismiss(self) -> None:
        await dismiss(self.data.local, Todo.collection)
        await self.refresh()

    def listen(self) -> None:
        on(by_testid("kept-export"), "click", lambda e: download(
            "offsync-kept-changes.json", export({Todo.collection: self.docs})))
        on(by_testid("kept-dismiss"), "click", lambda e: asyncio.ensure_future(self.dismiss()))
