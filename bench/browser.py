"""Chromium through Playwright, and the in-page harness: the bare-Pyodide page with the `models`
archive the server serves and the app's own fetch transport (web/app/fetch_transport.py), bound
the way web/app/app_state.py binds them (`WebStorageStore(window.localStorage, app="todo")`,
`RemoteStore(FetchTransport())`)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlparse

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

from .auth import SESSION_KEY, Session

BOOT_TIMEOUT = 180_000  # ms
CALL_TIMEOUT = 600_000  # ms, for one long in-page call (filling 10,000 todos)

# When `[data-testid=app-ready]` appears, remember performance.now(): milliseconds since the
# navigation started, measured by the page itself (no polling delay from the driver).
READY_PROBE = """
(() => {
  const mark = () => {
    if (window.__benchReady === undefined && document.querySelector('[data-testid=app-ready]')) {
      window.__benchReady = performance.now();
      return true;
    }
    return false;
  };
  const observer = new MutationObserver(() => { if (mark()) observer.disconnect(); });
  observer.observe(document, { childList: true, subtree: true });
})();
"""

HARNESS_BOOT = """
async () => {
  const py = window.pyodide;
  const info = await (await fetch('/pkg/models.json', { cache: 'no-store' })).json();
  py.unpackArchive(await (await fetch(info.url)).arrayBuffer(), 'zip');
  const transport = await (await fetch('/app/fetch_transport.py')).text();
  py.FS.writeFile('/home/pyodide/fetch_transport.py', transport);
  return await py.runPythonAsync(`
import json, sys, time
import js
from fetch_transport import FetchTransport
from models import RemoteStore, Todo, WebStorageStore, sync
storage = js.window.localStorage
local = WebStorageStore(storage, app="todo")
remote = RemoteStore(FetchTransport())
LocalTodo = Todo.using(local)
sys.version
`);
}
"""

# The user's bindings, as web/app/app_state.py makes them: a signed-in user's namespace
# `todo:<user id>` and `Todo.as_user(id)`; without accounts on the server, plain `todo`.
BIND = """
import json, time
from fetch_transport import FetchTransport
from models import RemoteStore, Todo, WebStorageStore, sync
user_id = {user_id!r}
storage = js.window.localStorage
local = WebStorageStore(storage, app="todo" if user_id is None else f"todo:{{user_id}}")
remote = RemoteStore(FetchTransport())
LocalTodo = Todo.using(local) if user_id is None else Todo.using(local).as_user(user_id)
json.dumps(local.prefix)
"""

RUN_PYTHON = "async (code) => await window.pyodide.runPythonAsync(code)"


@contextlib.contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser, base_url: str, session: Session):
    """A fresh context (empty cache and storage) signed in as `session`. Without accounts on the
    server, the app's remembered-user entry stands in, so the todo page opens all the same."""
    context = browser.new_context()
    context.add_init_script(READY_PROBE)
    if session.cookies:
        context.add_cookies(session.browser_cookies(base_url))
    else:
        user = json.dumps({"id": "bench", "username": "bench"})
        context.add_init_script(
            f"if (!localStorage.getItem({SESSION_KEY!r})) "
            f"localStorage.setItem({SESSION_KEY!r}, {json.dumps(user)});"
        )
    return context


def wait_ready(page) -> float:
    """Milliseconds from navigation start to `app-ready`, as the page measured them."""
    page.wait_for_function("window.__benchReady !== undefined", timeout=BOOT_TIMEOUT,
                           polling=50)
    return float(page.evaluate("window.__benchReady"))


class Harness:
    """One page with Pyodide, `models`, the local store and the remote store, ready to time."""

    def __init__(self, browser, base_url: str, session: Session) -> None:
        self.base_url = base_url
        self.context = new_context(browser, base_url, session)
        self.page = self.context.new_page()
        self.page.set_default_timeout(CALL_TIMEOUT)
        self.requests: Counter[str] = Counter()
        self.counting = False
        self.page.on("request", self._on_request)
        self.page.on("crash", lambda page: print(f"bench: the page {page.url} crashed",
                                                 file=sys.stderr, flush=True))
        self.page.goto(base_url + "/bench/bare.html")
        wait_ready(self.page)
        self.python_version = self.page.evaluate(HARNESS_BOOT)
        self.prefix = self.bind(session)

    def bind(self, session: Session) -> str:
        """(Re)bind the stores to `session`'s user (after a server restart made a new one)."""
        if session.cookies:
            self.context.add_cookies(session.browser_cookies(self.base_url))
        return self.run(BIND.format(user_id=session.user_id))

    def _on_request(self, request) -> None:
        if self.counting:
            url = urlparse(request.url)
            self.requests[f"{request.method} {url.path}"] += 1

    @contextlib.contextmanager
    def count_requests(self) -> Iterator[Counter[str]]:
        self.requests = Counter()
        self.counting = True
        try:
            yield self.requests
        finally:
            self.counting = False

    def run(self, code: str):
        """Run Python in the page; the last expression must be a JSON string."""
        return json.loads(self.page.evaluate(RUN_PYTHON, code))

    def clear_storage(self) -> None:
        self.page.evaluate("localStorage.clear()")

    def storage_chars(self) -> int:
        return int(self.page.evaluate(
            "() => { let n = 0; for (let i = 0; i < localStorage.length; i++) {"
            " const k = localStorage.key(i); n += k.length + localStorage.getItem(k).length; }"
            " return n; }"
        ))

    def close(self) -> None:
        self.context.close()
