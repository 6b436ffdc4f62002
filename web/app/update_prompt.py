"""The update cycle in the page: "A new version is ready" and a reload button, never a silent
switch to new code over data the old code wrote.

The page runs the build the service worker serves it (`/build.json` comes from the same cache as
the page and its Python modules, web/sw.js). It asks the server for the current build
(`GET /version.json`) after start-up, when the network comes back, when the tab is shown again,
every few minutes, and when a sync is refused because this code is too old (the window event
`offsync:update-required`). A newer build is first downloaded by the service worker into a cache
of its own; then the prompt appears. Its Reload button makes that build current and reloads.

Tabs tell each other the build they run over a `BroadcastChannel`. A tab that hears of another
build is the older one (a tab only ever starts on the worker's current build): it stops syncing
and writing (`on_stale`) and asks to be reloaded, so two versions never work on the same local
data. The local data lives in localStorage, which a reload keeps; the text typed in the new-todo
field is carried across the reload in sessionStorage.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import bytecode_cache
import js
from dom import by_testid, element, on
from pyodide.ffi import create_proxy, to_js

CHANNEL = "offsync:build"
UPDATE_REQUIRED_EVENT = "offsync:update-required"
CHECK_EVERY_SECONDS = 300.0
WORKER_TIMEOUT_SECONDS = 120.0
DRAFT_KEY = "offsync:update:draft"
DRAFT_FIELDS = ("new-todo",)


class UpdatePrompt:
    def __init__(self, on_stale: Callable[[], object] = lambda: None) -> None:
        self.on_stale = on_stale
        self.build = ""  # the build this tab runs
        self.ready = ""  # a newer build the worker holds, ready for a reload
        self.stale = False  # another tab runs another build: this one must reload
        self.required = False  # the server refused this code (offsync:update-required)
        self.node = None
        self._checking = False
        self._proxies: list = []
        self.channel = js.BroadcastChannel.new(CHANNEL)

    # ---- start --------------------------------------------------------------------------------
    async def start(self) -> None:
        self.build = str((await _get_json("/build.json")).get("build", ""))
        js.document.documentElement.dataset.build = self.build
        bytecode_cache.start(self.build)
        self._restore_drafts()
        self.channel.addEventListener("message", self._proxy(self._message))
        self._post("running")  # an older tab hears this and stops
        on(js.window, UPDATE_REQUIRED_EVENT,
           lambda event=None: asyncio.ensure_future(self.check(required=True)))
        on(js.window, "online", lambda event=None: asyncio.ensure_future(self.check()))
        on(js.document, "visibilitychange",
           lambda event=None: None if js.document.hidden else asyncio.ensure_future(self.check()))
        asyncio.ensure_future(self._every())
        status = await _ask_worker({"type": "status"}) or {}
        if status.get("waiting") and status["waiting"] != self.build:
            self.ready = str(status["waiting"])  # downloaded before: offline, the prompt stays
        await self.check()

    async def _every(self) -> None:
        while not self.stale:
            await asyncio.sleep(CHECK_EVERY_SECONDS)
            await self.check()

    # ---- is there a newer build? --------------------------------------------------------------
    async def check(self, required: bool = False) -> None:
        """Ask the server for its build; download a newer one through the worker, then prompt.
        `required`: the server refused this code (a pull by a client too old to read the
        answer), so the prompt shows even if the download cannot happen now."""
        self.required = self.required or required
        if self.stale or self._checking:
            return  # the check under way shows what is needed
        self._checking = True
        try:
            try:
                latest = str((await _get_json("/version.json")).get("build", ""))
            except Exception:  # offline, or the server is down: ask again later
                latest = ""
            if latest and latest != self.build and latest != self.ready:
                try:
                    self.ready = await self._prepare() or latest
                except Exception as error:  # the download failed: the next check tries again
                    js.console.warn(f"offsync: the new version is not downloaded: {error}")
            if self.ready and self.ready != self.build:
                self.show("ready")
            elif self.required:
                self.show("required")
        finally:
            self._checking = False

    async def _prepare(self) -> str:
        """The worker downloads the server's build into its own cache; its id, or "" if there
        is no worker (the reload then fetches the new code from the network anyway)."""
        answer = await _ask_worker({"type": "prepare"})
        if answer is None:
            return ""
        if answer.get("error"):
            raise RuntimeError(answer["error"])
        return str(answer.get("ready", ""))

    # ---- another tab --------------------------------------------------------------------------
    def _post(self, kind: str) -> None:
        self.channel.postMessage(json.dumps({"type": kind, "build": self.build}))

    def _message(self, event) -> None:
        try:
            message = json.loads(str(event.data))
        except ValueError:
            return
        other = str(message.get("build", ""))
        if message.get("type") in ("running", "activated") and other and other != self.build:
            self.stale = True
            self.on_stale()
            self.show("other-tab")

    # ---- the prompt ---------------------------------------------------------------------------
    TEXTS = {
        "ready": "A new version is ready.",
        "required": "A new version is needed to sync. Your changes are kept here.",
        "other-tab": "This app was updated in another tab. Reload to keep working; "
                     "your changes are kept.",
    }

    def show(self, reason: str) -> None:
        if self.node is None:
            self.node = element("div", testid="update-prompt", cls="update-prompt", role="status")
            self.node.appendChild(element("span", testid="update-text"))
            button = element("button", testid="update-reload", text="Reload")
            self.node.appendChild(button)
            on(button, "click", lambda event=None: asyncio.ensure_future(self.reload()))
            js.document.body.prepend(self.node)
        self.node.dataset.reason = reason
        by_testid("update-text", self.node).textContent = self.TEXTS[reason]
        if reason == "other-tab":
            main = js.document.querySelector("main")
            if main:
                main.inert = True  # nothing more is written under the old code

    async def reload(self) -> None:
        """Make the downloaded build current (the worker drops the old one), tell the other tabs,
        and reload."""
        self._keep_drafts()
        if self.ready and not self.stale:
            answer = await _ask_worker({"type": "activate", "build": self.ready})
            if answer and answer.get("error"):
                js.console.warn(f"offsync: {answer['error']}")
            self.build = self.ready
            self._post("activated")
        js.location.reload()

    # ---- what the user is typing --------------------------------------------------------------
    def _keep_drafts(self) -> None:
        drafts = {}
        for testid in DRAFT_FIELDS:
            field = by_testid(testid)
            if field and str(field.value):
                drafts[testid] = str(field.value)
        if drafts:
            js.sessionStorage.setItem(DRAFT_KEY, json.dumps(drafts))

    def _restore_drafts(self) -> None:
        kept = js.sessionStorage.getItem(DRAFT_KEY)
        if not isinstance(kept, str):  # JS null: nothing was kept
            return
        js.sessionStorage.removeItem(DRAFT_KEY)
        for testid, text in json.loads(str(kept)).items():
            field = by_testid(testid)
            if field and not str(field.value):
                field.value = text

    def _proxy(self, handler):
        proxy = create_proxy(handler)
        self._proxies.append(proxy)
        return proxy


async def _get_json(url: str) -> dict:
    response = await js.fetch(url, to_js({"cache": "no-store"},
                                         dict_converter=js.Object.fromEntries))
    if not response.ok:
        raise RuntimeError(f"GET {url}: HTTP {response.status}")
    return json.loads(str(await response.text()))


async def _ask_worker(message: dict) -> dict | None:
    """Send `message` to the service worker that controls this page; its answer, or None when no
    worker controls the page."""
    workers = getattr(js.navigator, "serviceWorker", None)
    worker = workers.controller if workers else None
    if not worker:
        return None
    channel = js.MessageChannel.new()
    answer = asyncio.get_event_loop().create_future()

    def received(event) -> None:
        if not answer.done():
            answer.set_result(json.loads(str(js.JSON.stringify(event.data))))

    proxy = create_proxy(received)
    channel.port1.onmessage = proxy
    try:
        worker.postMessage(to_js(message, dict_converter=js.Object.fromEntries),
                           to_js([channel.port2]))
        return await asyncio.wait_for(answer, WORKER_TIMEOUT_SECONDS)
    finally:
        channel.port1.close()
        proxy.destroy()


def start(on_stale: Callable[[], object] = lambda: None) -> UpdatePrompt:
    """Start the update cycle for this page (after it is ready: nothing here delays start-up)."""
    prompt = UpdatePrompt(on_stale)
    asyncio.ensure_future(prompt.start())
    return prompt
