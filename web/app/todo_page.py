"""The todo page (TodoMVC behaviour) over the shared `Todo` model bound to localStorage, with the
sync footer. Every rule a user meets here (a 501-character title, a due date that is no date) is
the model's, the same the server enforces.

The page reads the user's todos once (`todo_list.TodoList`); afterwards it reads only what the
store's feed says changed since the last checkpoint it saw (`catch_up`): after a write here,
another tab's write (the `storage` event) or a sync, and `list_view.ListView` redraws only those
rows.

The page shows one list at a time (list_picker.py: "My todos" or a list owned by or shared
with the user); new todos go into it, and a viewer's page has no editing controls (the model
refuses with the server's words if one is forced). list_members.py and share_dialog.py show
and change who the list is shared with; kept_edits.py shows what a sync kept of edits to a list
that was unshared meanwhile."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import bulk_edit
import js
import update_prompt
from app_state import UserData, known_session_user, log_out, signed_in_user, storage
from dom import by_testid, element, mark_ready, on, phase
from kept_edits import KeptEdits
from list_members import ListMembers
from list_picker import ListPicker
from list_view import ListView
from live_updates import LiveUpdates
from model_versions import open_local_store
from people import People
from share_dialog import ShareDialog
from storage_snapshot import StorageSnapshot
from sync_controller import SyncController
from todo_list import FILTERS, TodoList

from models import OffsyncError, StorageFullError, Todo, WebStorageStore
from models import TodoList as ListModel  # `TodoList` here is the page's copy of the rows

ORDER = ["order ASC", "created_at ASC"]
LISTS_EVERY = 3.0  # seconds between two forced reads of the lists (another tab's writes)
EVERYTHING = 10**9  # a feed limit that means "all of it"
INCOMPLETE_DATE = "The due date is incomplete: finish it (day, month and year) or clear it."


class TodoPage:
    def __init__(self, data: UserData) -> None:
        self.data = data
        # the page follows the model the server sent: a deploy whose Todo has no due date (an
        # older version) gets the page without the date controls, not a page whose writes fail
        self.has_due = "due" in data.Todo.fields
        self.has_lists = "list_id" in data.Todo.fields  # an older deploy's Todo has no lists
        self.sync = SyncController(data, self.refresh_footer)
        self.live = LiveUpdates(data.user.id, self.should_stream, self.sync.poked,
                                self.refresh_footer)
        self.todos = TodoList()
        self.view = ListView(self.todos, by_testid("todo-list"))
        self.seen = 0  # the local checkpoint through which `todos` has every change
        self.pending: set[str] = set()  # ids with changes the server has not acknowledged
        self.conflicts: set[str] = set()  # ids recorded in conflict
        self._catching_up: asyncio.Task | None = None
        self._counting: asyncio.Task | None = None
        self._listing: asyncio.Task | None = None
        self.ready = False  # start-up done: the entry fields follow the list's role
        self.lists_seen = 0  # the local checkpoint through which the lists were read
        self.lists_forced = False  # the next look reads the lists whatever the feed says
        self.last_forced = 0.0
        self.counts_again = False  # another full count was asked for while one ran
        self.lists = ListPicker(data, self.guard, self.list_switched)
        self.people = People(data.namespace, data.user.id, data.user.username)
        self.members = ListMembers(self.lists, self.people)
        self.share = ShareDialog(self.lists, self.people, self.members)
        self.kept = KeptEdits(data, self.lists.name_of)

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

    async def load(self) -> WebStorageStore:
        """Read every todo once, from a snapshot of the store (one call to the browser), and
        show them. Returns the snapshot, for the counts that follow."""
        snapshot = WebStorageStore(StorageSnapshot(storage, self.data.local.prefix),
                                   app=self.data.namespace)
        reader = Todo.using(snapshot).as_user(self.data.user.id)
        self.seen = await snapshot.checkpoint()
        where = {"list_id": self.lists.current} if self.has_lists else None
        self.todos.reset(await reader.find_documents(reader.query(where=where, order=ORDER)))
        phase("todos-read")
        self.view.filter = self.filter_name
        self.view.render()
        phase("rendered")
        self.show_counts()
        return snapshot

    async def catch_up(self) -> None:
        """Apply what changed in the store since the last checkpoint seen, and redraw it."""
        local, collection = self.data.local, Todo.collection
        top = await local.checkpoint()
        if top == self.seen:
            return
        if top < self.seen or await local.purge_horizon(collection) > self.seen:
            await self.load()  # storage cleared or tombstones purged: read everything again
            return
        docs = await local.feed(collection, self.seen, EVERYTHING, full=True)
        await self.take_in(docs)

    async def take_in(self, docs: list) -> None:
        """Apply changed documents (the feed after `seen`, oldest first) and redraw them."""
        if not docs:
            return
        # Through the newest change read, not `top`: another tab's commit reaches this tab key
        # by key, so `seq` may already say `top` while the change it counts is not here yet.
        self.seen = max(doc.checkpoint for doc in docs)
        docs = await self.in_view(docs)
        for doc in docs:
            if doc.base_rev != doc.rev:
                self.pending.add(doc.id)
            else:
                self.pending.discard(doc.id)
        changed = self.todos.apply(docs)
        self.view.patch(changed)
        self.show_counts()
        if changed & self.conflicts:  # a write may have settled its conflict
            self.count_soon()

    async def in_view(self, docs: list) -> list:
        """The changed todos as the current list's view sees them: one of another list, or one
        this user may no longer read, leaves the view like a delete."""
        acting = await self.data.Todo.resolved()  # the memberships as the store holds them now
        current = self.lists.current

        def shown(doc) -> bool:
            return (doc.owner == current or not self.has_lists) and acting.readable(doc)

        return [doc if shown(doc) else replace(doc, deleted=True)
                for doc in docs if shown(doc) or doc.id in self.todos.docs]

    # ---- lists --------------------------------------------------------------------------------
    async def list_switched(self) -> None:
        """Another list was picked (or the current one went away): read its todos."""
        self.view.pinned.clear()
        self.show_lists()
        await self.load()

    def show_lists(self) -> None:
        by_testid("list-bar").hidden = not self.has_lists
        self.lists.render()
        self.members.render()
        read_only = self.lists.read_only
        by_testid("main").classList.toggle("read-only", read_only)
        new_todo = by_testid("new-todo")
        new_todo.placeholder = ("You can view this list, not change it" if read_only
                                else "What needs to be done?")
        if self.ready:
            new_todo.disabled = read_only
            by_testid("new-todo-due").disabled = read_only
        self.show_counts()

    async def lists_changed(self, force: bool = False) -> None:
        """After a sync or another tab's write: the lists, their members' names, what was kept.
        Read only when a list changed in the store, or a pull forgot some (reading them scans
        the store's keys: not after every sync of 10,000 todos)."""
        local, forgot = self.data.local, self.sync.forgot
        self.sync.forgot = False
        top = await local.checkpoint()
        changed = top < self.lists_seen or bool(await local.adapter.feed_docs(
            ListModel.collection, self.lists_seen, 1))
        self.lists_seen = top
        if not (force or forgot or changed):
            return
        gone = await self.lists.refresh()
        if gone:
            await self.list_switched()
        else:
            self.show_lists()
        await self.kept.refresh()
        if self.members.unknown() and await self.people.refresh():
            self.members.render()

    async def people_then_members(self) -> None:
        if await self.people.refresh():
            self.members.render()

    def catch_up_soon(self) -> None:
        """Many `storage` events (another tab's sync) make one catch-up."""
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.ensure_future(self.catch_up())

    def show_counts(self) -> None:
        todos = self.todos
        left = todos.left
        by_testid("items-left").textContent = f"{left} item{'' if left == 1 else 's'} left"
        toggle_all = by_testid("toggle-all")
        toggle_all.checked = bool(len(todos)) and left == 0
        toggle_all.disabled = not len(todos) or self.lists.read_only
        by_testid("clear-completed").hidden = todos.completed == 0
        by_testid("main").classList.toggle("empty", not len(todos))
        by_testid("pending-count").textContent = str(len(self.pending))

    def show_filter(self) -> None:
        self.view.filter = self.filter_name
        for name in FILTERS:
            by_testid(f"filter-{name}").classList.toggle("selected", name == self.filter_name)
        self.view.render()

    # ---- the figures that need a full read: what is unsynced, what is in conflict -------------
    def count_soon(self, delay: float = 0.0, store: WebStorageStore | None = None) -> None:
        """Count pending changes and conflicts from the store (after a sync, or another tab's
        writes): they change without a new checkpoint (an acknowledgement), so the feed alone
        cannot tell. Calls made while one runs or waits make one more after it."""
        if self._counting is not None and not self._counting.done():
            self.counts_again = True
            return
        self._counting = asyncio.ensure_future(self._count(delay, store))

    async def _count(self, delay: float, store: WebStorageStore | None) -> None:
        await asyncio.sleep(delay)
        while True:
            self.counts_again = False
            pending = await self.data.pending_docs(self.sync.state, store)
            self.pending = {doc.id for doc in pending}
            conflicts = await (store or self.data.local).conflicts(Todo.collection)
            store = None  # a snapshot serves once: the next count reads the store
            self.conflicts = {theirs.id for _, theirs in conflicts}
            self.show_counts()
            self.show_conflicts()
            if not self.counts_again:
                return

    def show_conflicts(self) -> None:
        banner = by_testid("conflict-banner")
        banner.hidden = not self.conflicts
        if self.conflicts:
            count = len(self.conflicts)
            by_testid("conflict-text").textContent = (
                f"{count} todo{'' if count == 1 else 's'} changed here and on the server."
            )

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
        finally:
            await self.catch_up()  # what was written, and what another tab wrote before it
        self.show_error("")
        self.sync.local_write()
        return True

    def show_error(self, message: str) -> None:
        box = by_testid("error-message")
        box.textContent = message
        box.hidden = not message

    async def add(self, field) -> None:
        due_field = by_testid("new-todo-due")
        if due_field.validity.badInput:
            self.show_error(INCOMPLETE_DATE)
            return
        values = {"title": field.value}
        if self.has_lists:
            values["list_id"] = self.lists.current
        if self.has_due:
            values["due"] = due_field.value or None

        async def create() -> None:
            todo = await self.data.Todo.create(**values)
            self.view.pinned.add(todo.id)  # shown even when it lands past the window

        if await self.guard(create()):
            field.value = ""
            due_field.value = ""

    async def current(self, id: str) -> Todo:
        """The todo as stored now (another tab or a sync may have changed it)."""
        todo = await self.data.Todo.find_by_id(id)
        if todo is None:
            raise OffsyncError("This todo was deleted meanwhile (in another tab or device).")
        return todo

    def toggle(self, id: str) -> None:
        async def toggle() -> None:
            todo = await self.current(id)
            await todo.update(completed=not todo.completed)

        self.spawn_then_redraw(toggle(), id)

    def delete(self, id: str) -> None:
        async def delete() -> None:
            await (await self.current(id)).delete()

        self.spawn_then_redraw(delete(), id)

    def spawn_then_redraw(self, coro, id: str) -> None:
        """A refused change redraws its row (the checkbox the user clicked goes back)."""
        async def run() -> None:
            if not await self.guard(coro):
                self.view.patch({id})

        asyncio.ensure_future(run())

    async def toggle_all(self) -> None:
        await self.take_written(bulk_edit.toggle_all(self.data.Todo, self.todos))

    async def clear_completed(self) -> None:
        await self.take_written(bulk_edit.clear_completed(self.data.Todo, self.todos))

    async def take_written(self, writing) -> None:
        """A bulk write (models/bulk.py: all saved, or none): what it wrote goes straight into
        the page's copy when nothing else was written since the copy was made; else the
        catch-up after it reads the feed."""
        unchanged = await self.data.local.checkpoint() == self.seen
        written = await writing
        if unchanged:
            await self.take_in(written)

    def start_edit(self, id: str, row) -> None:
        doc = self.todos.docs.get(id)
        if doc is None or self.view.editing is not None or self.lists.read_only:
            return
        data = doc.data or {}
        editor = element("input", testid="todo-edit", cls="edit", maxlength="2000",
                         aria_label="Title")
        editor.value = data.get("title") or ""
        due_editor = element("input", testid="todo-due-edit", cls="edit-due", type="date",
                             aria_label="Due date", title="Due date")
        due_editor.value = data.get("due") or ""
        due_editor.hidden = not self.has_due
        row.classList.add("editing")
        row.append(editor, due_editor)
        editor.focus()
        self.view.begin_edit(id)
        done = {"closed": False}

        async def finish(save: bool) -> None:
            if done["closed"]:
                return
            done["closed"] = True
            if not save:
                self.view.end_edit()
                return
            if due_editor.validity.badInput:
                self.show_error(INCOMPLETE_DATE)
                done["closed"] = False  # keep the editor and what the user typed
                return
            title = editor.value.strip()
            changes = {"title": title}
            if self.has_due:
                changes["due"] = due_editor.value or None
            # the todo as stored now: a sync may have brought another device's change to it
            # while the box was open (the typed title goes on top of it)
            current = await self.data.Todo.find_by_id(id)
            if current is None:
                self.show_error("This todo was deleted on another device while you edited it.")
                self.view.end_edit()
                return
            action = current.delete() if not title else current.update(**changes)
            if await self.guard(action):
                self.view.end_edit()
            else:
                done["closed"] = False  # keep the editor and what the user typed

        def on_key(event) -> None:
            if event.key == "Enter":
                self.spawn_plain(finish(True))
            elif event.key == "Escape":
                self.spawn_plain(finish(False))

        def on_focusout(event) -> None:
            moved_to = event.relatedTarget
            if moved_to is not None and row.contains(moved_to):
                return  # from the title to the date: still editing
            self.spawn_plain(finish(True))

        on(editor, "keydown", on_key)
        on(due_editor, "keydown", on_key)
        on(row, "focusout", on_focusout)

    def spawn_plain(self, coro) -> None:
        asyncio.ensure_future(coro)

    # ---- the sync footer ----------------------------------------------------------------------
    def refresh_footer(self) -> None:
        """What the sync controller calls on every change (status, progress): no store read."""
        self.show_footer()

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
    def another_tab_wrote(self, event) -> None:
        key = event.key
        if key is None or str(key).startswith(self.data.local.prefix):  # None: cleared
            self.catch_up_soon()
            self.count_soon(0.3)  # its sync may have acknowledged or recorded conflicts
            self.lists_soon(force=True)  # another tab's sync may have forgotten a list

    def lists_soon(self, force: bool = False) -> None:
        """Look at the lists soon; a forced look (which reads them whatever the feed says) at
        most once per LISTS_EVERY seconds, however many `storage` events come."""
        self.lists_forced = self.lists_forced or force
        if self._listing is None or self._listing.done():
            self._listing = asyncio.ensure_future(self._lists_later())

    async def _lists_later(self) -> None:
        if self.lists_forced:
            await asyncio.sleep(max(0.0, self.last_forced + LISTS_EVERY - time.monotonic()))
            self.last_forced = time.monotonic()
        force, self.lists_forced = self.lists_forced, False
        await self.lists_changed(force)

    async def start(self) -> None:
        self.show_user()
        on(by_testid("logout"), "click", lambda e: self.spawn_plain(self.log_out()))
        new_todo = by_testid("new-todo")
        on(new_todo, "keydown",
           lambda e: self.spawn_plain(self.add(new_todo)) if e.key == "Enter" else None)
        on(by_testid("new-todo-due"), "keydown",
           lambda e: self.spawn_plain(self.add(new_todo)) if e.key == "Enter" else None)
        on(by_testid("toggle-all"), "change", lambda e: self.spawn(self.toggle_all()))
        on(by_testid("clear-completed"), "click", lambda e: self.spawn(self.clear_completed()))
        on(js.window, "hashchange", lambda e: self.show_filter())
        on(js.window, "storage", self.another_tab_wrote)
        on(by_testid("go-online"), "click", lambda e: self.switch(self.sync.go_online))
        on(by_testid("go-offline"), "click", lambda e: self.switch(self.sync.go_offline))
        on(by_testid("sync-button"), "click", lambda e: self.spawn_plain(self.sync.sync_now()))
        self.view.listen(toggle=self.toggle, delete=self.delete, edit=self.start_edit)
        original = self.sync.on_change

        def after_sync_change() -> None:
            original()
            if self.sync.status == "idle":
                self.catch_up_soon()
                self.count_soon()
                self.lists_soon()
            elif self.sync.status == "signed out":
                self.live.update()

        self.sync.on_change = after_sync_change
        for name in FILTERS:
            by_testid(f"filter-{name}").classList.toggle("selected", name == self.filter_name)
        self.lists.listen()
        self.share.listen()
        self.kept.listen()
        self.lists_seen = await self.data.local.checkpoint()
        await self.lists.refresh()
        self.show_lists()
        snapshot = await self.load()
        self.show_footer()
        by_testid("new-todo-due").hidden = not self.has_due
        self.ready = True
        for field in (new_todo, by_testid("new-todo-due")):
            field.disabled = self.lists.read_only
        self.spawn_plain(self.kept.refresh())
        if self.members.unknown():
            self.spawn_plain(self.people_then_members())
        new_todo.focus()
        mark_ready()
        self.count_soon(store=snapshot)
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
    phase("python-started")
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
    phase("store-opened")
    page = TodoPage(data)
    await page.start()
    if confirm_later:
        await page.confirm_session()
