"""When to sync, and only one sync at a time across every tab of this browser.

Syncs run right after local writes (writes within one turn of the event loop make one sync,
and writes made while a sync runs make one more after it), on reconnect, and on an interval,
backing off exponentially after errors. The Web Locks API serialises syncs between tabs; the
app-level offline switch stops all of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import js
from app_state import MODELS, PEER, UserData, remote, transport
from model_versions import announce_update_required
from pyodide.ffi import create_proxy

from models import AuthenticationError, DatabaseChangedError, OffsyncError, TransportError, sync
from models.errors import UpdateRequiredError

DEBOUNCE_SECONDS = 0.0  # none: the other devices show a change within 100 ms (live updates);
# writes made while a sync runs are sent by one more sync after it (`again`)
INTERVAL_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 60.0
LOCK_NAME = "offsync:todo:sync"


class SyncController:
    def __init__(self, data: UserData, on_change: Callable[[], object]) -> None:
        self.data = data
        self.state = data.load_state()
        self.on_change = on_change
        self.status = "idle"  # idle | syncing | offline | error: ...
        self.progress = ""
        self.reachable = True  # the server answered the last request
        self.failures = 0
        self.update_required = False  # the server refused a pull: reload for the newer models
        self._timer: asyncio.Task | None = None
        self._proxies: list = []
        self.halted = False  # another tab runs newer code: no more syncs here (update_prompt)
        self.again = False  # a local write came while a sync ran: sync once more after it
        self.poke_waiting: int | None = None  # the highest checkpoint poked during a sync
        self.poke_known: int | None = None  # a poke's checkpoint the next sync may start from
        self.forgot = False  # a pull forgot documents (a list unshared): the page looks again
        transport.enabled = self.online

    # ---- the switch ---------------------------------------------------------------------------
    @property
    def online(self) -> bool:
        return (self.state.online and bool(js.navigator.onLine) and not self.data.user.expired
                and not self.halted)

    def network_text(self) -> str:
        if self.data.user.expired:
            return "signed out: log in to sync"
        if not self.state.online:
            return "offline (switched off)"
        if not js.navigator.onLine:
            return "offline (no network)"
        return "online" if self.reachable else "offline (server unreachable)"

    def go_online(self) -> None:
        self.state = self.data.load_state()
        self.state.online = True
        self.state.save()
        transport.enabled = bool(js.navigator.onLine)
        self.reachable = True  # not known yet; a sync cut off by going offline said otherwise
        self.failures = 0
        self.schedule(0)
        self.on_change()

    def go_offline(self) -> None:
        self.state = self.data.load_state()
        self.state.online = False
        self.state.save()
        transport.enabled = False
        self.cancel()
        self.status = "offline"
        self.on_change()

    def halt(self) -> None:
        """Stop syncing for good (until the page reloads), without switching the app offline
        for the other tabs."""
        self.halted = True
        transport.enabled = False
        self.cancel()

    def start(self) -> None:
        """Listen to the browser's network events and start the interval."""
        def browser_online(event=None) -> None:
            transport.enabled = self.online
            self.reachable = True
            self.schedule(0)
            self.on_change()

        def browser_offline(event=None) -> None:
            transport.enabled = False
            self.cancel()
            self.on_change()

        for name, handler in (("online", browser_online), ("offline", browser_offline)):
            proxy = create_proxy(handler)
            self._proxies.append(proxy)
            js.window.addEventListener(name, proxy)
        asyncio.ensure_future(self._interval())
        self.schedule(0)

    # ---- scheduling ---------------------------------------------------------------------------
    def local_write(self) -> None:
        if self.status == "syncing":  # the running sync may have read the feed already
            self.again = True
            return
        self.schedule(DEBOUNCE_SECONDS)

    def poked(self, checkpoint: int | None) -> None:
        """The change stream said the server reached `checkpoint`: sync, unless this browser
        already pulled through it (the poke of this tab's own push, read by its own pull)."""
        asyncio.ensure_future(self._poked(checkpoint))

    async def _poked(self, checkpoint: int | None) -> None:
        if checkpoint is not None and self.status == "syncing":
            # the running sync's pull may read it: decided when it ends (`_poke_after`)
            self.poke_waiting = max(self.poke_waiting or 0, checkpoint)
            return
        if checkpoint is not None and await self._pulled_through(checkpoint):
            return
        self._know(checkpoint)
        self.schedule(0)

    def _know(self, checkpoint: int | None) -> None:
        """The server is at `checkpoint` at least: the next sync's pull need not ask it first."""
        if checkpoint is not None:
            self.poke_known = max(self.poke_known or 0, checkpoint)

    async def _pulled_through(self, checkpoint: int) -> bool:
        return await self.data.saved_checkpoint(self.data.load_state(), "pull") >= checkpoint

    async def _poke_after(self) -> None:
        """A poke that came during the sync that just ended: one more sync if its pull did not
        reach the poke's checkpoint."""
        waiting, self.poke_waiting = self.poke_waiting, None
        if waiting is not None and not await self._pulled_through(waiting):
            self._know(waiting)
            self.schedule(0)

    def schedule(self, delay: float) -> None:
        self.cancel()
        if self.online:
            self._timer = asyncio.ensure_future(self._later(delay))

    def cancel(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def _later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.sync_now()

    async def _interval(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            if self.online and self.status != "syncing" and self.failures == 0 \
                    and not self.update_required:
                await self.sync_now()

    # ---- one sync -----------------------------------------------------------------------------
    async def sync_now(self) -> None:
        if not self.online:
            self.status = "offline"
            self.on_change()
            return
        locks = getattr(js.navigator, "locks", None)
        if locks is None:
            await self._run()
            return

        def with_lock(lock=None):
            return asyncio.ensure_future(self._run())

        proxy = create_proxy(with_lock)
        try:
            await locks.request(LOCK_NAME, proxy)
        finally:
            proxy.destroy()

    async def _run(self) -> None:
        self.state = self.data.load_state()  # another tab may have synced meanwhile
        if not self.state.online:
            return
        self.status = "syncing"
        self.progress = ""
        self.on_change()

        def progress(phase: str, done: int, total: int) -> None:
            if total > 200:
                word = "Sending" if phase == "push" else "Receiving"
                self.progress = f"{word} {done:,} of {total:,}"
                self.on_change()

        # A poke said where the server is, and its last answer which database it is: the pull
        # starts with its first page (an answer from another database stops it, see below).
        known, self.poke_known = self.poke_known, None
        poked = (remote.database, known) if known is not None and remote.database is not None \
            and self.failures == 0 else None
        try:
            # The local store saves the progress after every page, so a sync cut off halfway
            # resumes after the last acknowledged page (the sync state's checkpoints are only
            # the starting point of a store that saved none yet).
            result = await sync(self.data.local, remote, self.state.checkpoints, models=MODELS,
                                on_progress=progress, peer=PEER, poked=poked)
            counts = result.pull.counts
            self.forgot = self.forgot or bool(counts.get("evicted") or counts.get("kept"))
        except AuthenticationError:
            # The session ended (expired while offline, or logged out elsewhere). Local changes
            # stay where they are; syncing resumes after the next log-in.
            self.data.user.expired = True
            transport.enabled = False
            self.cancel()
            self.status = "signed out"
            self.progress = ""
            self.on_change()
            return
        except UpdateRequiredError as exc:
            # The server runs newer models: pulling waits for a reload (the push went through).
            # No retries: only the new code can read what the server now sends.
            self.update_required = True
            self.cancel()
            self.status = "update required"
            self.progress = ""
            self.state.last_error = exc.message
            self.state.save()
            self.on_change()
            announce_update_required(exc)
            return
        except TransportError as exc:
            if poked is not None and isinstance(exc, DatabaseChangedError):
                # the server's database changed since its last answer: sync again, asking first
                self.status = "idle"
                self.on_change()
                self.schedule(0)
                return
            self.reachable = False
            self._failed(str(exc))
            return
        except OffsyncError as exc:
            self._failed(exc.message)
            return
        except Exception as exc:  # a bug must not stop future syncs or lose local data
            js.console.error(f"sync failed: {exc!r}")
            self._failed(f"unexpected {type(exc).__name__}: {exc}")
            return
        self.reachable = True
        self.failures = 0
        self.state.synced()
        self.status = "idle"
        self.progress = ""
        self.on_change()
        if self.again:
            self.again = False
            self.poke_waiting = None  # the sync below pulls too
            self.schedule(0)
        else:
            await self._poke_after()

    def _failed(self, message: str) -> None:
        self.failures += 1
        self.again = False  # the retry below sends every change anyway
        self.state.last_error = message
        self.state.save()
        self.status = f"error: {message}"
        self.progress = ""
        delay = min(MAX_BACKOFF_SECONDS, 2.0 ** self.failures)
        self.on_change()
        if self.online:
            self._timer = asyncio.ensure_future(self._later(delay))
