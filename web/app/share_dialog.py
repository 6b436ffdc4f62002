"""The share dialog: a username and a role (editor or viewer) for the current list, which
its owner opens from the list bar. The username is resolved by the server (people.People:
a clear message for one that does not exist, or while offline); the share itself is a write of
the list's `members` through the model, synced like any change."""

from __future__ import annotations

import asyncio

from dom import by_testid, on
from list_members import ListMembers
from list_picker import ListPicker
from people import People

from models import OffsyncError


class ShareDialog:
    def __init__(self, picker: ListPicker, people: People, members: ListMembers) -> None:
        self.picker = picker
        self.people = people
        self.members = members

    @property
    def dialog(self):
        return by_testid("share-dialog")

    def open(self) -> None:
        by_testid("share-list-name").textContent = self.picker.body.get("name") or ""
        by_testid("share-username").value = ""
        by_testid("share-role").value = "editor"
        self.show_error("")
        self.dialog.showModal()
        by_testid("share-username").focus()

    def show_error(self, message: str) -> None:
        box = by_testid("share-error")
        box.textContent = message
        box.hidden = not message

    async def share(self) -> None:
        username = str(by_testid("share-username").value).strip()
        role = str(by_testid("share-role").value)
        button = by_testid("share-submit")
        button.disabled = True
        try:
            user_id = await self.people.lookup(username)
            if user_id == self.picker.me:
                raise OffsyncError("That is you: you own this list already.")
        except OffsyncError as exc:
            self.show_error(exc.message)
            return
        finally:
            button.disabled = False
        members = {**(self.picker.body.get("members") or {}), user_id: role}
        if await self.picker.set_members(members):
            self.dialog.close()
            self.members.render()
        else:
            self.show_error(str(by_testid("error-message").textContent))

    def listen(self) -> None:
        def submitted(event) -> None:
            event.preventDefault()
            asyncio.ensure_future(self.share())

        on(by_testid("share-list"), "click", lambda e: self.open())
        on(by_testid("share-form"), "submit", submitted)
        on(by_testid("share-close"), "click", lambda e: self.dialog.close())
