"""Which list the todo page shows, and what this user may do with it.

The picker offers the user's lists as the local store holds them (the browser holds exactly the
lists its user may read): "My todos" (their default list, which exists without a document)
first, then the lists they own, then those shared with them, each with the role they hold.
The current list is remembered per device (`offsync:<namespace>:current-list`); one that is
gone (deleted, unshared, left) falls back to "My todos". Creating, renaming, deleting (owner)
and leaving (member) go through the `TodoList` model, so the browser refuses what the server
would, with its words. The names of the lists seen are remembered too, to name a list after it
was unshared (kept_edits.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import js
from app_state import UserData, storage
from dom import by_testid, element, on

from models import OffsyncError, TodoList, default_list_id
from models.access import EDITOR, OWNER, VIEWER
from models.todo_list import DEFAULT_LIST_NAME

ROLE_WORDS = {OWNER: "owner", EDITOR: "editor", VIEWER: "viewer"}


class ListPicker:
    def __init__(self, data: UserData, guard: Callable[[Awaitable], Awaitable[bool]],
                 on_switch: Callable[[], Awaitable[None]]) -> None:
        self.data = data
        self.guard = guard  # runs a write: a refused one shows the model's message
        self.on_switch = on_switch  # the current list changed: the page reads its todos
        self.me = data.user.id
        self.default_id = default_list_id(self.me)
        self.Lists = TodoList.using(data.local).as_user(self.me)
        self.lists: dict[str, dict] = {}  # readable lists by id, the default one included
        self.key = f"offsync:{data.namespace}:current-list"
        self.names_key = f"offsync:{data.namespace}:list-names"
        self.current: str = storage.getItem(self.key) or self.default_id
        self.naming: str | None = None  # "new" or "rename" while the name form is open

    # ---- what the store holds ------------------------------------------------------------------
    async def refresh(self) -> bool:
        """Read the lists again; True when the current one is gone (then "My todos" is)."""
        found = {self.default_id: {"id": self.default_id, "name": DEFAULT_LIST_NAME,
                                   "owner": self.me, "members": {}}}
        for todo_list in await self.Lists.find():
            found[todo_list.id] = todo_list.to_dict()
        self.lists = found
        self._remember_names()
        if self.current not in found:
            self.select(self.default_id)
            return True
        return False

    def _remember_names(self) -> None:
        try:
            names = json.loads(storage.getItem(self.names_key) or "{}")
        except ValueError:
            names = {}
        fresh = {id: body.get("name") or "" for id, body in self.lists.items()}
        if any(names.get(id) != name for id, name in fresh.items()):
            storage.setItem(self.names_key, json.dumps({**names, **fresh}))

    def name_of(self, list_id: str) -> str:
        """A list's name, also after this device forgot the list."""
        if list_id in self.lists:
            return self.lists[list_id].get("name") or ""
        try:
            return json.loads(storage.getItem(self.names_key) or "{}").get(list_id) or "?"
        except ValueError:
            return "?"

    def role(self, list_id: str | None = None) -> str:
        """owner, editor or viewer: what this user is in the list."""
        body = self.lists.get(list_id or self.current) or {}
        return ROLE_WORDS.get(TodoList.own_role(body, self.me) or "", "viewer")

    @property
    def body(self) -> dict:
        return self.lists.get(self.current) or {}

    @property
    def read_only(self) -> bool:
        return self.role() == "viewer"

    def select(self, list_id: str) -> None:
        self.current = list_id
        storage.setItem(self.key, list_id)

    def ordered(self) -> tuple[list[str], list[str]]:
        """The ids of the lists this user owns (default first) and of those shared with them."""
        def by_name(id: str) -> tuple:
            return ((self.lists[id].get("name") or "").lower(), id)

        others = [id for id in self.lists if id != self.default_id]
        owned = sorted((id for id in others if self.role(id) == "owner"), key=by_name)
        shared = sorted((id for id in others if self.role(id) != "owner"), key=by_name)
        return [self.default_id, *owned], shared

    # ---- on screen ------------------------------------------------------------------------------
    def render(self) -> None:
        picker = by_testid("list-picker")
        owned, shared = self.ordered()
        options = [self._option(id, self.lists[id].get("name") or "") for id in owned]
        if shared:
            group = element("optgroup", label="Shared with you")
            for id in shared:
                group.append(self._option(id, f"{self.lists[id].get('name')} · {self.role(id)}"))
            options.append(group)
        picker.replaceChildren(*options)
        picker.value = self.current
        picker.disabled = False
        role = self.role()
        by_testid("list-role").textContent = "" if self.current == self.default_id \
            else ("yours" if role == "owner" else f"you are {'an' if role == 'editor' else 'a'} "
                                                  f"{role}")
        mine, default = role == "owner", self.current == self.default_id
        for testid, shown in (("rename-list", mine and not default),
                              ("share-list", mine and not default),
                              ("delete-list", mine and not default),
                              ("leave-list", not mine)):
            by_testid(testid).hidden = not shown

    def _option(self, id: str, label: str):
        option = element("option", text=label, value=id)
        option.setAttribute("data-testid", "list-option")
        return option

    def open_name_form(self, kind: str) -> None:
        self.naming = kind
        form, field = by_testid("list-name-form"), by_testid("list-name-input")
        form.hidden = False
        field.value = self.body.get("name", "") if kind == "rename" else ""
        field.placeholder = "New list's name" if kind == "new" else "List name"
        by_testid("list-name-save").textContent = "Create" if kind == "new" else "Rename"
        field.focus()

    def close_name_form(self) -> None:
        self.naming = None
        by_testid("list-name-form").hidden = True

    # ---- writes ---------------------------------------------------------------------------------
    async def run(self, write: Awaitable, switch_to: str | None = None) -> bool:
        """One write through the page's guard, then the picker and the page follow it."""
        done = await self.guard(write)
        if done and switch_to is not None:
            self.select(switch_to)
        await self.refresh()
        self.render()
        if done and switch_to is not None:
            await self.on_switch()
        return done

    async def submit_name(self) -> None:
        name = str(by_testid("list-name-input").value)
        if self.naming == "new":
            made: dict = {}

            async def create() -> None:
                made["id"] = (await self.Lists.create(name=name)).id

            if await self.guard(create()):
                self.close_name_form()
                await self.run(_done(), switch_to=made["id"])
        elif self.naming == "rename":
            current = await self.stored()
            if await self.run(current.update(name=name)):
                self.close_name_form()

    async def stored(self) -> TodoList:
        found = await self.Lists.find_by_id(self.current)
        if found is None:
            raise OffsyncError("This list is gone (deleted or no longer shared with you).")
        return found

    async def delete(self) -> None:
        name = self.body.get("name")
        if not js.window.confirm(f"Delete the list {name!r} and every todo in it, "
                                 "on every device of everyone it is shared with?"):
            return
        list_id, Todo = self.current, self.data.Todo

        async def delete_all() -> None:
            todos = await Todo.find(where={"list_id": list_id})
            mine = await self.stored()
            async with self.data.local.adapter.transaction():
                for todo in todos:
                    await todo.delete()
                await mine.delete()

        await self.run(delete_all(), switch_to=self.default_id)

    async def leave(self) -> None:
        name = self.body.get("name")
        if not js.window.confirm(f"Leave the list {name!r}? It disappears from your devices "
                                 "until its owner shares it with you again."):
            return
        mine = await self.stored()
        await self.run(mine.update(members={id: role for id, role in mine.members.items()
                                            if id != self.me}), switch_to=self.default_id)

    async def set_members(self, members: dict[str, str]) -> bool:
        return await self.run(_update_members(await self.stored(), members))

    def listen(self) -> None:
        picker = by_testid("list-picker")

        async def switched() -> None:
            self.select(str(picker.value))
            self.render()
            await self.on_switch()

        def name_key(event) -> None:
            if event.key == "Escape":
                self.close_name_form()

        def submitted(event) -> None:
            event.preventDefault()
            _spawn(self.submit_name())

        on(picker, "change", lambda e: _spawn(switched()))
        on(by_testid("new-list"), "click", lambda e: self.open_name_form("new"))
        on(by_testid("rename-list"), "click", lambda e: self.open_name_form("rename"))
        on(by_testid("list-name-form"), "submit", submitted)
        on(by_testid("list-name-input"), "keydown", name_key)
        on(by_testid("list-name-cancel"), "click", lambda e: self.close_name_form())
        on(by_testid("delete-list"), "click", lambda e: _spawn(self.delete()))
        on(by_testid("leave-list"), "click", lambda e: _spawn(self.leave()))


async def _done() -> None:
    return None


async def _update_members(todo_list: TodoList, members: dict[str, str]) -> None:
    await todo_list.update(members=members)


def _spawn(coro) -> None:
    import asyncio

    asyncio.ensure_future(coro)
