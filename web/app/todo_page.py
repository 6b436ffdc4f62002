"""The todo page (TodoMVC behaviour) over the shared `Todo` model bound to localStorage, with the
sync footer. Every rule a user meets here (a 501-character title, say) is the model's, the same
the server enforces."""

from __future__ import annotations

import asyncio

import js
import update_prompt
from app_state import UserData, known_session_user, log_out, signed_in_user
from dom import by_testid, element, mark_ready, on
from live_updates import LiveUpdates
from model_versions import open_local_store
from sync_controller import SyncController

from models import OffsyncError, StorageFullError, Todo

FILTERS = {"all": None, "active": {"completed": False}, "completed": {"completed": True}}


class TodoPage:
    def __init__(self, data: UserData) -> None:
        self.data = data
        self.sync = SyncController(data, self.refresh_footer)
        self.live = LiveUpdates(data.user.id, self.should_stream, lambda: self.sync.schedule(0),
                                self.refresh_footer)
        self.editing = False  # an edit box is open: a render now would throw away its text
        self.render_waiting = False  # a render was asked for meanwhile: done when editing ends

    def should_stream(self) -> bool:
        """Whether live updates should be on: online and signed in, as this browser's state
        now says (another tab may have switched)."""
        self.sync.state = self.data.load_state()
        return self.sync.online

    # ---- reading ------------------------------------------------------------------------------
    @property
    def filter_name(self) -> str:
        name = str(js.location.hash).lstrip("#/") or "all"
        return name if name in FILTERS else "all"

    async def render(self) -> None:
        if self.editing:  # a sync or another tab changed something: shown when editing ends
            self.render_waiting = True
            self.refresh_footer()
            return
        self.render_waiting = False
        todos = await self.data.Todo.find(order=["order ASC", "created_at ASC"])
        shown = [t for t in todos if self.filter_name == "all"
                 or t.completed == (self.filter_name == "completed")]
        listing = by_testid("todo-list")
        listing.replaceChildren(*[self.item(todo) for todo in shown])
        left = sum(1 for t in todos if not t.completed)
        by_testid("items-left").textContent = f"{left} item{'' if left == 1 else 's'} left"
        toggle_all = by_testid("toggle-all")
        toggle_all.checked = bool(todos) and left == 0
        toggle_all.disabled = not todos
        by_testid("clear-completed").hidden = left == len(todos)
        for name in FILTERS:
            link = by_testid(f"filter-{name}")
            link.classList.toggle("selected", name == self.filter_name)
        by_testid("main").classList.toggle("empty", not todos)
        self.show_footer()
        await self.refresh_counts()  # read once: refresh_footer would read it again

    def item(self, todo: Todo):
        cls = "todo" + (" completed" if todo.completed else "")
        node = element("li", testid="todo-item", cls=cls)
        node.setAttribute("data-id", todo.id)
        toggle = element("input", testid="todo-toggle", cls="toggle", type="checkbox",
                         aria_label="Done")
        toggle.checked = bool(todo.completed)
        title = element("label", testid="todo-title", cls="title", text=todo.title)
        delete = element("button", testid="todo-delete", cls="destroy", aria_label="Delete",
                         title="Delete", text="×")
        node.append(toggle, title, delete)
        on(toggle, "change", lambda e: self.spawn(self.toggle(todo)))
        on(delete, "click", lambda e: self.spawn(self.delete(todo)))
        on(title, "dblclick", lambda e: self.start_edit(node, todo))
        return node

    # ---- writing ------------------------------------------------------------------------------
    def spawn(self, coro) -> None:
        asyncio.ensure_future(self.guard(coro))

    async def guard(self, coro) -> bool:
        """Run one user action: model errors show inline, nothing half-done is kept."""
        try:
            await coro
        except StorageFullError:
            self.show_error("This browser's storage for the app is full: the change was not "
                            "saved. Sync and clear completed todos, or export and clear storage.")
            return False
        except OffsyncError as exc:
            self.show_error(exc.message)
            return False
        self.show_error("")
        await self.render()
        self.sync.local_write()
        return True

    def show_error(self, message: str) -> None:
        box = by_testid("error-message")
        box.textContent = message
        box.hidden = not message

    async def add(self, field) -> None:
        if await self.guard(self.data.Todo.create(title=field.value)):
            field.value = ""

    async def toggle(self, todo: Todo) -> None:
        await todo.update(completed=not todo.completed)

    async def delete(self, todo: Todo) -> None:
        await todo.delete()

    async def toggle_all(self) -> None:
        todos = await self.data.Todo.find()
        target = not all(t.completed for t in todos)
        for todo in todos:
            if todo.completed != target:
                await todo.update(completed=target)

    async def clear_completed(self) -> None:
        for todo in await self.data.Todo.find(where={"completed": True}):
            await todo.delete()

    def start_edit(self, node, todo: Todo) -> None:
        editor = element("input", testid="todo-edit", cls="edit", maxlength="2000")
        editor.value = todo.title
        node.classList.add("editing")
        node.appendChild(editor)
        editor.focus()
        self.editing = True
        done = {"closed": False}

        async def finish(save: bool) -> None:
            if done["closed"]:
                return
            done["closed"] = True
            self.editing = False
            if not save:
                await self.render()
                return
            title = editor.value.strip()
            # the todo as stored now: a sync may have brought another device's change to it
            # while the box was open (the typed title goes on top of it)
            current = await self.data.Todo.find_by_id(todo.id)
            if current is None:
                self.show_error("This todo was deleted on another device while you edited it.")
                await self.render()
                return
            action = current.delete() if not title else current.update(title=title)
            if not await self.guard(action):
                self.editing = True
                done["closed"] = False  # keep the editor and what the user typed

        def on_key(event) -> None:
            if event.key == "Enter":
                self.spawn_plain(finish(True))
            elif event.key == "Escape":
                self.spawn_plain(finish(False))

        on(editor, "keydown", on_key)
        on(editor, "blur", lambda e: self.spawn_plain(finish(True)))

    def spawn_plain(self, coro) -> None:
        asyncio.ensure_future(coro)

    # ---- the sync footer ----------------------------------------------------------------------
    def refresh_footer(self) -> None:
        """What the sync controller calls on every change: the footer now, and the figures
        that need the local store (`refresh_counts`) a moment later."""
        self.show_footer()
        self.spawn_plain(self.refresh_counts())

    def show_footer(self) -> None:
        """The footer's figures the sync controller already knows (no store read)."""
        sync = self.sync
        by_testid("network-status").textContent = sync.network_text()
        by_testid("live-status").textContent = "live" if self.live.live else "not live"
        by_testid("live-status").className = "badge " + ("on" if self.live.live else "off")
        by_testid("network-status").className = "badge " + ("on" if sync.online and sync.reachable
                                                             else "off")
        status = sync.progress or sync.status
        if self.data.user.expired:
            status = "signed out"
        elif not sync.online and not status.startswith("error"):
            status = "offline"
        by_testid("sync-status").textContent = status
        by_testid("session-expired").hidden = not self.data.user.expired
        by_testid("go-online").disabled = sync.state.online
        by_testid("go-offline").disabled = not sync.state.online
        by_testid("sync-button").disabled = not sync.online or sync.status == "syncing"

    async def refresh_counts(self) -> None:
        """The footer's figures that need the local store."""
        pending = await self.data.pending_docs(self.sync.state)
        by_testid("pending-count").textContent = str(len(pending))
        conflicts = await self.data.local.conflicts(Todo.collection)
        banner = by_testid("conflict-banner")
        banner.hidden = not conflicts
        if conflicts:
            count = len(conflicts)
            by_testid("conflict-text").textContent = (
                f"{count} todo{'' if count == 1 else 's'} changed here and on the server."
            )

    # ---- who is signed in ---------------------------------------------------------------------
    def show_user(self) -> None:
        user = self.data.user
        by_testid("current-user").textContent = user.username
        by_testid("session-expired").hidden = not user.expired

    async def confirm_session(self) -> None:
        """Ask the server whether the session the page opened with still holds (offline, the
        answer waits: the page keeps working as the last confirmed user)."""
        found = await signed_in_user()
        if found is None or found.id != self.data.user.id:
            js.location.reload()  # logged out, or someone else logged in meanwhile
            return
        if found.expired and not self.data.user.expired:
            self.data.user.expired = True  # local changes stay; sync resumes after a log-in
            self.sync.cancel()
        self.show_user()
        self.show_footer()
        await self.refresh_counts()  # read once: refresh_footer would read it again

    async def log_out(self) -> None:
        pending = len(await self.data.pending_docs(self.sync.state))
        if pending and not js.window.confirm(
            f"{pending} change(s) have not reached the server yet. They stay in this browser and "
            "sync when you log in again. Log out anyway?"
        ):
            return
        await log_out()
        js.location.assign("/login")

    # ---- start --------------------------------------------------------------------------------
    async def start(self) -> None:
        self.show_user()
        on(by_testid("logout"), "click", lambda e: self.spawn_plain(self.log_out()))
        new_todo = by_testid("new-todo")
        on(new_todo, "keydown",
           lambda e: self.spawn_plain(self.add(e.target)) if e.key == "Enter" else None)
        on(by_testid("toggle-all"), "change", lambda e: self.spawn(self.toggle_all()))
        on(by_testid("clear-completed"), "click", lambda e: self.spawn(self.clear_completed()))
        on(js.window, "hashchange", lambda e: self.spawn_plain(self.render()))
        on(js.window, "storage", lambda e: self.spawn_plain(self.render()))  # another tab wrote
        on(by_testid("go-online"), "click", lambda e: self.switch(self.sync.go_online))
        on(by_testid("go-offline"), "click", lambda e: self.switch(self.sync.go_offline))
        on(by_testid("sync-button"), "click", lambda e: self.spawn_plain(self.sync.sync_now()))
        original = self.sync.on_change

        def after_sync_change() -> None:
            original()
            if self.sync.status == "idle":
                self.spawn_plain(self.render())
            elif self.sync.status == "signed out":
                self.live.update()

        self.sync.on_change = after_sync_change
        await self.render()
        new_todo.disabled = False
        new_todo.focus()
        mark_ready()
        self.sync.start()
        self.live.start()
        update_prompt.start(on_stale=self.sync.halt)

    def switch(self, go) -> None:
        """The user switched online or offline: sync, and the live stream, follow."""
        go()
        self.live.switched()


page: TodoPage | None = None


async def start() -> None:
    """Find who is signed in (the server, or offline the last answer it gave) and open their
    todos; with nobody signed in at all, go to the log-in page."""
    global page
    user = known_session_user()  # the session the server confirmed last time: no round trip
    confirm_later = user is not None
    if user is None:
        user = await signed_in_user()
    if user is None:
        js.location.replace("/login")
        return
    data = UserData(user)
    if not await open_local_store(data):  # older models' data migrated first (or refused)
        return
    page = TodoPage(data)
    await page.start()
    if confirm_later:
        await page.confirm_session()
