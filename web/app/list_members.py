"""Who the current list is shared with, under the list picker: its owner and members by
username with their role; the owner changes a member's role or removes them right here
(through the `TodoList` model, as every write). The names come from `people.People`."""

from __future__ import annotations

import asyncio

from dom import by_testid, element, on
from list_picker import ListPicker
from people import People


class ListMembers:
    def __init__(self, picker: ListPicker, people: People) -> None:
        self.picker = picker
        self.people = people

    def unknown(self) -> bool:
        """Whether some member of a list held here has no name yet (ask the server)."""
        return any(id not in self.people.names for body in self.picker.lists.values()
                   for id in [body.get("owner") or "", *(body.get("members") or {})] if id)

    def render(self) -> None:
        picker, panel = self.picker, by_testid("list-members")
        body = picker.body
        members = body.get("members") or {}
        mine = picker.role() == "owner"
        panel.hidden = picker.current == picker.default_id or (mine and not members)
        rows = [self.row(body.get("owner") or "", "owner", False)]
        for id in sorted(members, key=lambda id: (self.people.name(id).lower(), id)):
            rows.append(self.row(id, members[id], mine))
        by_testid("member-list").replaceChildren(*rows)

    def row(self, user_id: str, role: str, editable: bool):
        you = " (you)" if user_id == self.picker.me else ""
        item = element("li", testid="member", cls="member")
        item.setAttribute("data-user-id", user_id)
        item.append(element("span", testid="member-name", cls="member-name",
                            text=self.people.name(user_id) + you))
        if not editable:
            item.append(element("span", testid="member-role", cls="member-role", text=role))
            return item
        choice = element("select", testid="member-role", cls="member-role",
                         aria_label=f"Role of {self.people.name(user_id)}")
        for value in ("editor", "viewer"):
            choice.append(element("option", text=value, value=value))
        choice.value = role
        remove = element("button", testid="member-remove", cls="member-remove", text="×",
                         title="Stop sharing with them",
                         aria_label=f"Stop sharing with {self.people.name(user_id)}")
        item.append(choice, remove)
        on(choice, "change", lambda e: self.change(user_id, str(choice.value)))
        on(remove, "click", lambda e: self.change(user_id, None))
        return item

    def change(self, user_id: str, role: str | None) -> None:
        members = dict(self.picker.body.get("members") or {})
        if role is None:
            members.pop(user_id, None)
        else:
            members[user_id] = role

        async def run() -> None:
            await self.picker.set_members(members)
            self.render()

        asyncio.ensure_future(run())
