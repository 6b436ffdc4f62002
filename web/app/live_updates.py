"""Live updates in the browser: one change stream for all of this browser's tabs, and a sync in
every tab when it pokes.

Browsers open at most six HTTP/1.1 connections per origin, so a stream per tab would hang the
app at the seventh tab. The tabs elect a leader with the Web Locks API: the first to ask holds
the lock for as long as it lives, and when it closes the browser hands the lock to the next.
The leader holds the `EventSource` of `GET /api/changes/stream` (server/live.py) while the app
is online and signed in, and tells the other tabs over a `BroadcastChannel`: "poke" (sync now)
and "status" (whether the stream is open, for the footer). A poke only starts the tab's normal
sync: the pull stays the one way data arrives. A stream that fails is reopened after a backoff
(the first event of a new stream is a poke, so the tab catches up on what it missed); the
interval timer of `sync_controller` stays as the fallback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import js
from pyodide.ffi import create_proxy, to_js

STREAM_URL = "/api/changes/stream"
BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class LiveUpdates:
    """This tab's part: leader or follower, and what the footer shows."""

    def __init__(self, user_id: str, should_stream: Callable[[], bool],
                 poke: Callable[[int | None], object], on_change: Callable[[], object]) -> None:
        self.lock_name = f"offsync:todo:live:{user_id}"
        self.should_stream = should_stream  # online, and signed in
        self.poke = poke  # run this tab's sync, unless it pulled through the poke's checkpoint
        self.on_change = on_change  # the footer
        self.leader = False
        self.live = False  # the browser's stream is open (ours, or the leader's)
        self.source = None
        self.failures = 0
        self._retry: asyncio.Task | None = None
        self._held: asyncio.Future | None = None  # never settles: the lock lives with the tab
        self._proxies: list = []
        self.channel = js.BroadcastChannel.new(self.lock_name)

    def _proxy(self, handler):
        proxy = create_proxy(handler)
        self._proxies.append(proxy)
        return proxy

    # ---- start: follow, and ask to lead -------------------------------------------------------
    def start(self) -> None:
        self.channel.addEventListener("message", self._proxy(self._message))
        for name in ("online", "offline"):  # the browser's network
            js.window.addEventListener(name, self._proxy(lambda event=None: self.update()))
        self._post("hello")  # the leader answers with its status
        locks = getattr(js.navigator, "locks", None)
        if locks is None:  # no Web Locks: every tab streams for itself
            self._lead()
            return

        def granted(lock=None):
            self._lead()
            self._held = asyncio.get_event_loop().create_future()
            return self._held

        locks.request(self.lock_name, self._proxy(granted))

    def _lead(self) -> None:
        self.leader = True
        self.update()

    def _post(self, kind: str, **fields) -> None:
        self.channel.postMessage(json.dumps({"type": kind, **fields}))

    def _message(self, event) -> None:
        try:
            message = json.loads(str(event.data))
        except ValueError:
            return
        kind = message.get("type")
        if kind == "poke":
            self.poke(_checkpoint(message.get("checkpoint")))
        elif kind == "status" and not self.leader:
            self._set_live(bool(message.get("live")))
        elif kind == "hello" and self.leader:
            self._post("status", live=self.live)
        elif kind == "changed" and self.leader:
            self.update()  # another tab switched online or offline

    def switched(self) -> None:
        """This tab switched online or offline (the leader may be another tab)."""
        self._post("changed")
        self.update()

    # ---- the leader's stream ------------------------------------------------------------------
    def update(self) -> None:
        """Open the stream or close it, as the app's state now says (leader only)."""
        if not self.leader:
            return
        if self.should_stream():
            if self.source is None and (self._retry is None or self._retry.done()):
                self._open()
        else:
            self._close()
            self.failures = 0

    def _open(self) -> None:
        source = js.EventSource.new(STREAM_URL, to_js({"withCredentials": True},
                                                      dict_converter=js.Object.fromEntries))
        self.source = source

        def opened(event=None) -> None:
            if source is self.source:
                self.failures = 0
                self._set_live(True)

        def changed(event=None) -> None:
            if source is self.source:
                try:
                    checkpoint = _checkpoint(json.loads(str(event.data)).get("checkpoint"))
                except (AttributeError, ValueError):
                    checkpoint = None  # a poke all the same
                self._post("poke", checkpoint=checkpoint)
                self.poke(checkpoint)

        def failed(event=None) -> None:
            if source is not self.source:
                return
            self._close()  # the browser's own retry would not back off, nor notice a 401
            delay = BACKOFF_SECONDS[min(self.failures, len(BACKOFF_SECONDS) - 1)]
            self.failures += 1
            self._retry = asyncio.ensure_future(self._reopen(delay))

        source.addEventListener("open", self._proxy(opened))
        source.addEventListener("change", self._proxy(changed))
        source.addEventListener("error", self._proxy(failed))

    async def _reopen(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._retry = None
        self.update()
        self.poke(None)  # a stream that failed may mean the server restarted: catch up

    def _close(self) -> None:
        if self._retry is not None and not self._retry.done():
            self._retry.cancel()
        self._retry = None
        if self.source is not None:
            self.source.close()
            self.source = None
        self._set_live(False)

    def _set_live(self, live: bool) -> None:
        changed = live != self.live
        self.live = live
        if self.leader and changed:
            self._post("status", live=live)
        if changed:
            self.on_change()


def _checkpoint(value: object) -> int | None:
    """A poke's checkpoint, or None when it names none a sync could be skipped for."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
