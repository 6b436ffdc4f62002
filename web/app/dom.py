"""Small DOM helpers for the pages. Text is always set as text, never parsed as HTML."""

from __future__ import annotations

from collections.abc import Callable

import js
from pyodide.ffi import create_proxy

document = js.document
_handlers: list = []  # proxies must outlive the frames that made them


def by_testid(testid: str, root=None):
    return (root or document).querySelector(f'[data-testid="{testid}"]')


def element(tag: str, *, testid: str | None = None, cls: str = "", text: str | None = None,
            **attrs: str):
    node = document.createElement(tag)
    if testid:
        node.setAttribute("data-testid", testid)
    if cls:
        node.className = cls
    if text is not None:
        node.textContent = text
    for name, value in attrs.items():
        node.setAttribute(name.replace("_", "-"), value)
    return node


def on(node, event: str, handler: Callable) -> None:
    proxy = create_proxy(handler)
    _handlers.append(proxy)
    node.addEventListener(event, proxy)


def register_service_worker() -> None:
    """So the next visit opens with no network (web/sw.js)."""
    workers = getattr(js.navigator, "serviceWorker", None)
    if workers:
        workers.register("/sw.js")


def mark_ready() -> None:
    """Tell users (and tests) the page is usable: the loading state goes, `app-ready` appears."""
    register_service_worker()
    document.body.classList.remove("loading")
    if not by_testid("app-ready"):  # querySelector gives JS null, which is not None
        ready = element("span", testid="app-ready", hidden="")
        document.body.appendChild(ready)


def phase(name: str) -> None:
    """A `performance.mark` ("offsync:<name>") at a step of start-up: the bench reads them to
    say where the time to `app-ready` goes (bench/page.py), and DevTools shows them."""
    js.performance.mark(f"offsync:{name}")


def download(filename: str, text: str, mime: str = "application/json") -> None:
    """Offer `text` as a file to save (a Blob behind a link clicked once)."""
    from pyodide.ffi import to_js

    blob = js.Blob.new(to_js([text]), to_js({"type": mime}, dict_converter=js.Object.fromEntries))
    url = js.URL.createObjectURL(blob)
    link = element("a", href=url, download=filename)
    document.body.appendChild(link)
    link.click()
    link.remove()
    js.URL.revokeObjectURL(url)
