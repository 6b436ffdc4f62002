"""The debug page: everything this browser holds for the app, in the open.

Every localStorage key with its size and value (damaged entries flagged, never fatal), the
unsynced changes, what the next push would do on the server, conflicts side by side with the
three ways out, the checkpoints, and the quota. Clearing storage refuses to drop unsynced work
unless the user says so twice.
"""

from __future__ import annotations

import asyncio
import json

import js
import update_prompt
from app_state import QUOTA_CHARS, UserData, remote, signed_in_user, storage, storage_used
from dom import by_testid, element, mark_ready, on
from model_versions import open_local_store
from pyodide.ffi import to_js
from sync_controller import SyncController

from models import OffsyncError, Todo, TodoList, default_list_id, stored_conflicts
from models.access import EDITOR, OWNER, VIEWER
from models.kept import kept_documents
from models.protocol import doc_to_wire

WHY_HELD = {OWNER: "you own it", EDITOR: "shared with you to edit",
            VIEWER: "shared with you to read"}


class DebugPage:
    def __init__(self, data: UserData) -> None:
        self.data = data
        self.sync = SyncController(data, self.after_sync)

    def after_sync(self) -> None:
        by_testid("network-status").textContent = self.sync.network_text()
        if self.sync.status == "idle":
            asyncio.ensure_future(self.render())

    def show_error(self, message: str) -> None:
        box = by_testid("error-message")
        box.textContent = message
        box.hidden = not message

    # ---- sections -----------------------------------------------------------------------------
    async def render(self) -> None:
        self.render_entries()
        pending = await self.data.pending_docs(self.sync.state)
        self.render_pending(pending)
        await self.render_facts()
        await self.render_lists()
        await self.render_conflicts()
        await self.render_push_preview(pending)

    def render_entries(self) -> None:
        prefix = self.data.local.prefix
        keys = sorted(k for i in range(storage.length)
                      if isinstance(k := storage.key(i), str) and k.startswith(prefix))
        rows = []
        for key in keys:
            raw = storage.getItem(key)
            raw = raw if isinstance(raw, str) else ""
            node = element("details", testid="storage-entry", cls="entry", data_key=key)
            summary = element("summary")
            try:  # the compact layout spelled out: `todos:doc:<id>`, the entry unpacked
                name, value = self.data.local.explain(key, raw)
                pretty = value if isinstance(value, str) else json.dumps(
                    value, indent=2, ensure_ascii=False)
                summary.append(element("span", cls="key", text=name))
                shown = f"{pretty}\n\nkey:   {key}\nvalue: {raw}"
            except (ValueError, TypeError, KeyError):
                node.classList.add("corrupt")
                node.setAttribute("data-corrupt", "true")
                summary.append(element("span", cls="key", text=key),
                               element("span", cls="flag", text="unreadable"))
                shown = raw
            summary.append(element("span", cls="size", text=f"{len(key) + len(raw):,} chars"))
            node.append(summary, element("pre", text=shown))
            rows.append(node)
        by_testid("storage-list").replaceChildren(*rows)
        by_testid("entry-count").textContent = f"({len(keys)} keys)"

    def render_pending(self, pending: list) -> None:
        rows = []
        for doc in pending:
            row = element("tr", testid="pending-change")
            row.setAttribute("data-id", doc.id)
            data = doc.data or {}
            title = "(deleted)" if doc.deleted else data.get("title") \
                or f"list {data.get('name', '')!r}"
            for cell in (
                element("span", cls=f"tag {doc.type.value}", text=doc.type.value),
                element("span", text=title),
                element("code", text=doc.rev[:14] + "…"),
                element("code", text=(doc.prev or "—")[:14] + ("…" if doc.prev else "")),
                element("span", text=str(doc.checkpoint)),
            ):
                td = element("td")
                td.appendChild(cell)
                row.appendChild(td)
            rows.append(row)
        if not rows:
            td = element("td", cls="empty", text="Everything here is on the server.", colspan="5")
            empty = element("tr")
            empty.appendChild(td)
            rows.append(empty)
        by_testid("pending-list").replaceChildren(*rows)
        by_testid("pending-total").textContent = f"({len(pending)})"

    async def render_facts(self) -> None:
        state = self.sync.state
        cps = []
        for name, label in (("push", "pushed through local sequence"),
                            ("pull", "pulled through server sequence")):
            text = f"{label} {await self.data.saved_checkpoint(state, name)}"
            cps.append(element("div", testid="checkpoint", text=text))
        by_testid("checkpoints").replaceChildren(*cps)
        by_testid("last-sync").textContent = state.last_sync or "never"
        by_testid("last-error").textContent = state.last_error or "none"
        used = storage_used()
        share = used / QUOTA_CHARS
        by_testid("storage-usage").textContent = (
            f"{used:,} of about {QUOTA_CHARS:,} characters ({share:.1%})")
        by_testid("storage-meter").style.width = f"{min(100.0, share * 100):.1f}%"
        by_testid("namespace").textContent = self.data.local.prefix
        by_testid("current-user").textContent = self.data.user.username
        by_testid("network-status").textContent = self.sync.network_text()

    async def render_lists(self) -> None:
        """The lists this device holds, the role the user has in each and why it is here, and
        the kept documents of lists it no longer holds."""
        me, local = self.data.user.id, self.data.local
        held = {doc.id: doc for doc in await local.feed(TodoList.collection, 0, 10**9)
                if not doc.deleted}
        inbox = default_list_id(me)
        counts: dict[str, int] = {}
        for doc in await local.feed(Todo.collection, 0, 10**9):
            if not doc.deleted:
                counts[doc.owner or ""] = counts.get(doc.owner or "", 0) + 1
        rows = []
        for list_id in [inbox, *sorted(set(held) - {inbox})]:
            doc = held.get(list_id)
            role = OWNER if list_id == inbox else TodoList.role_of(doc, me) if doc else None
            why = ("your default list (yours without a document)" if list_id == inbox
                   else WHY_HELD.get(role or "", "not readable: forgotten at the next sync"))
            name = (doc.data or {}).get("name") if doc else "My todos"
            row = element("tr", testid="held-list")
            row.setAttribute("data-list-id", list_id)
            for text in (f"{name} ({list_id})", (role or "none").lstrip("$"), why,
                         str(counts.get(list_id, 0))):
                row.append(element("td", text=text))
            rows.append(row)
        by_testid("held-lists").replaceChildren(*rows)
        by_testid("held-list-count").textContent = f"({len(rows)})"
        kept = await kept_documents(local, Todo.collection)
        by_testid("kept-documents").replaceChildren(*[
            element("li", testid="kept-document",
                    text=f"{(doc.data or {}).get('title')!r} in list "
                         f"{(doc.data or {}).get('list_id')} (revision {doc.rev})")
            for doc in kept])
        by_testid("kept-count").textContent = f"({len(kept)})"

    async def render_conflicts(self) -> None:
        conflicts = await stored_conflicts(self.data.local, Todo)
        nodes = [self.conflict_node(c) for c in conflicts]
        if not nodes:
            nodes = [element("p", cls="none", text="No conflicts.")]
        by_testid("conflict-list").replaceChildren(*nodes)
        by_testid("conflict-count").textContent = f"({len(conflicts)})"

    def conflict_node(self, conflict):
        server_version, local_version = conflict.models()
        node = element("div", testid="conflict", cls="conflict")
        node.setAttribute("data-id", conflict.id)
        sides = element("div", cls="sides")
        for label, version, testid in (("This browser", local_version, "conflict-local"),
                                       ("Server", server_version, "conflict-server")):
            side = element("div", cls="side", testid=testid)
            side.appendChild(element("h4", text=label))
            if version is None:
                side.appendChild(element("div", cls="ttl", text="(deleted)"))
            else:
                side.appendChild(element("div", cls="ttl", text=version.title))
                done = "done" if version.completed else "not done"
                side.appendChild(element("div", cls="meta",
                                         text=f"{done} · edited {version.updated_at}"))
            sides.appendChild(side)
        actions = element("div", cls="actions")
        use_local = element("button", testid="use-local", text="Use local version")
        use_server = element("button", testid="use-server", text="Use server version")
        merge = element("button", testid="merge-manually", text="Merge manually")
        actions.append(use_local, use_server, merge)
        node.append(element("div", cls="mono", text=f"todo {conflict.id} · {conflict.type()}"),
                    sides, actions)
        on(use_local, "click", lambda e: self.resolve(conflict.resolve_using_target()))
        on(use_server, "click", lambda e: self.resolve(conflict.resolve_using_source()))
        start_from = local_version or server_version
        on(merge, "click", lambda e: self.open_merge(node, conflict, start_from))
        return node

    def open_merge(self, node, conflict, start) -> None:
        if node.querySelector("form"):
            return
        form = element("form")
        title = element("input", testid="merge-title", type="text", aria_label="Title")
        title.value = start.title if start else ""
        done_box = element("input", testid="merge-completed", type="checkbox")
        done_box.checked = bool(start and start.completed)
        label = element("label")
        label.append(done_box, js.document.createTextNode(" done"))
        save = element("button", testid="merge-save", cls="primary", type="submit", text="Save")
        form.append(title, label, save)
        node.appendChild(form)
        title.focus()

        def submit(event) -> None:
            event.preventDefault()
            base = (start.to_dict() if start else {})
            data = {**base, "title": title.value, "completed": bool(done_box.checked)}
            self.resolve(conflict.resolve_manually(data))

        on(form, "submit", submit)

    def resolve(self, action) -> None:
        async def run() -> None:
            try:
                await action
            except OffsyncError as exc:
                self.show_error(exc.message)
                return
            self.show_error("")
            await self.render()
            await self.sync.sync_now()
        asyncio.ensure_future(run())

    async def render_push_preview(self, pending: list) -> None:
        box = by_testid("push-preview")
        if not pending:
            box.textContent = "Nothing to push."
            return
        if not self.sync.online:
            box.textContent = f"{len(pending)} change(s) will be sent once you are online."
            return
        missing = clashing = 0
        try:
            for collection in sorted({doc.model for doc in pending}):  # todos, and lists
                diff = await remote.diff(collection, [doc.change for doc in pending
                                                      if doc.model == collection])
                missing, clashing = missing + len(diff["missing"]), \
                    clashing + len(diff["conflicts"])
        except OffsyncError as exc:
            box.textContent = f"Could not ask the server: {exc.message}"
            return
        box.textContent = (f"{missing} change(s) the server does not have yet; {clashing} that "
                           "would meet a newer server version (merge or conflict).")

    # ---- actions ------------------------------------------------------------------------------
    def export(self) -> None:
        async def run() -> None:
            todos = [t.to_dict() for t in await self.data.Todo.find(order="order ASC")]
            payload = {
                "user": self.data.user.username,
                "exported_from": self.data.local.prefix,
                "todos": todos,
                "unsynced": [doc_to_wire(doc)
                             for doc in await self.data.pending_docs(self.sync.state)],
                "conflicts": [
                    {"local": doc_to_wire(mine) if mine else None, "server": doc_to_wire(theirs)}
                    for mine, theirs in await self.data.local.conflicts(Todo.collection)],
                "sync": {"checkpoints": {
                    name: await self.data.saved_checkpoint(self.sync.state, name)
                    for name in ("push", "pull")}, "last_sync": self.sync.state.last_sync},
            }
            text = json.dumps(payload, indent=2, ensure_ascii=False)
            blob = js.Blob.new(to_js([text]), to_js({"type": "application/json"},
                                                    dict_converter=js.Object.fromEntries))
            url = js.URL.createObjectURL(blob)
            link = element("a", href=url, download="offsync-todos.json")
            js.document.body.appendChild(link)
            link.click()
            link.remove()
            js.URL.revokeObjectURL(url)
        asyncio.ensure_future(run())

    def clear(self) -> None:
        asyncio.ensure_future(self._clear())

    async def _clear(self) -> None:
        pending = await self.data.pending_docs(self.sync.state)
        if not js.window.confirm("Remove everything this app keeps in this browser?"):
            return
        if pending and not js.window.confirm(
            f"{len(pending)} change(s) have not reached the server and will be LOST. "
            "Drop them anyway?"
        ):
            self.show_error("Nothing was cleared: unsynced changes are kept. Sync first, or "
                            "confirm the loss.")
            return
        prefix = self.data.local.prefix
        for key in [k for i in range(storage.length)
                    if isinstance(k := storage.key(i), str) and k.startswith(prefix)]:
            storage.removeItem(key)
        storage.removeItem(self.data.state_key)  # the app's sync state, kept beside the store
        self.sync.state = self.data.load_state()
        self.show_error("")
        await self.render()

    async def start(self) -> None:
        on(by_testid("export-data"), "click", lambda e: self.export())
        on(by_testid("clear-storage"), "click", lambda e: self.clear())
        on(by_testid("sync-button"), "click", lambda e: asyncio.ensure_future(self.sync.sync_now()))
        on(js.window, "storage", lambda e: asyncio.ensure_future(self.render()))
        await self.render()
        mark_ready()
        update_prompt.start(on_stale=self.sync.halt)
        if js.location.hash == "#conflicts":
            js.document.getElementById("conflicts").scrollIntoView()


page: DebugPage | None = None


async def start() -> None:
    global page
    user = await signed_in_user()
    if user is None:
        js.location.replace("/login")
        return
    data = UserData(user)
    if not await open_local_store(data):  # older models' data migrated first (or refused)
        return
    page = DebugPage(data)
    await page.start()
