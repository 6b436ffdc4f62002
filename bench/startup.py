"""Start-up: navigation start to `app-ready`, the todo page next to a bare page that only loads
the same local Pyodide (bench/pages/bare.html), cold and warm, interleaved in one run; and the
bytes each load took.

Cold: a fresh browser context each time (empty HTTP cache, no service worker). Warm: one context
per page, loaded once, then reloaded; for the todo page the service worker is active first
(`navigator.serviceWorker.ready`, which waits for its precache), the bare page has only the HTTP
cache (it registers no worker).

Bytes come from Chromium's Network domain (CDP): `Network.responseReceived` says who answered a
request (the service worker, the HTTP cache, or the network) and `Network.loadingFinished` its
encoded length on the wire. A load's bytes are counted until the page has been quiet for
`SETTLE_MS` after `app-ready` (outside the timed part); the live-update stream never finishes
loading and is not counted. `api` is what the app asked the server for (/api/: the session check,
the sync), `code` everything else (pages, runtime, Python, models archive): the figure that should
be 0 on a repeat visit.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

from .auth import Session
from .browser import new_context, wait_ready
from .stats import summary

PAGES = {"app": "/", "bare": "/bench/bare.html"}
SETTLE_MS = 1500


class Transfer:
    """What one page loaded, request by request, from the Network domain."""

    def __init__(self, context, page) -> None:
        self.cdp = context.new_cdp_session(page)
        self.source: dict[str, str] = {}
        self.path: dict[str, str] = {}
        self.length: dict[str, float] = {}
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.send("Network.enable")

    def reset(self) -> None:
        self.source.clear()
        self.path.clear()
        self.length.clear()

    def _response(self, event: dict) -> None:
        response = event["response"]
        if response.get("fromServiceWorker"):
            source = "service_worker"
        elif response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            source = "http_cache"
        else:
            source = "network"
        self.source[event["requestId"]] = source
        self.path[event["requestId"]] = urlparse(response["url"]).path

    def _finished(self, event: dict) -> None:
        self.length[event["requestId"]] = float(event.get("encodedDataLength", 0))

    def totals(self) -> dict:
        requests: Counter[str] = Counter()
        network = {"code": 0, "api": 0}
        for request_id, source in self.source.items():
            requests[source] += 1
            if source == "network" and request_id in self.length:
                kind = "api" if self.path[request_id].startswith("/api/") else "code"
                network[kind] += int(self.length[request_id])
        return {"network_bytes": network, "requests": dict(requests)}


# Wait (up to 30 s) until the page has kept its compiled modules (web/app/bytecode_cache.py).
BYTECODE_KEPT = """
async () => {
  const deadline = performance.now() + 30000;
  while (performance.now() < deadline) {
    const build = document.documentElement.dataset.build;
    if (build && await (await caches.open('offsync-app-' + build)).match('/bytecode.zip')) {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
"""


def _settle(page) -> None:
    page.wait_for_timeout(SETTLE_MS)


def _cold(browser, base_url: str, path: str, session: Session) -> tuple[float, dict]:
    context = new_context(browser, base_url, session)
    try:
        page = context.new_page()
        transfer = Transfer(context, page)
        page.goto(base_url + path, wait_until="commit")
        ready = wait_ready(page)
        _settle(page)
        return ready, transfer.totals()
    finally:
        context.close()


def run(browser, base_url: str, session: Session, cold_runs: int, warm_runs: int) -> dict:
    cold: dict[str, list[float]] = {name: [] for name in PAGES}
    warm: dict[str, list[float]] = {name: [] for name in PAGES}
    cold_bytes: dict[str, list[dict]] = {name: [] for name in PAGES}
    warm_bytes: dict[str, list[dict]] = {name: [] for name in PAGES}
    for _ in range(cold_runs):
        for name, path in PAGES.items():
            ms, transfer = _cold(browser, base_url, path, session)
            cold[name].append(ms)
            cold_bytes[name].append(transfer)
    contexts, pages, transfers = [], {}, {}
    try:
        for name, path in PAGES.items():
            context = new_context(browser, base_url, session)
            contexts.append(context)
            page = context.new_page()
            transfers[name] = Transfer(context, page)
            page.goto(base_url + path, wait_until="commit")
            wait_ready(page)
            pages[name] = page
        pages["app"].evaluate("async () => { await navigator.serviceWorker.ready; }")
        for page in pages.values():  # one unmeasured reload: the worker now controls it
            page.reload(wait_until="commit")
            wait_ready(page)
        controlled = pages["app"].evaluate("!!navigator.serviceWorker.controller")
        # as a user who stayed a few seconds: the page keeps its compiled modules for next time
        compiled = pages["app"].evaluate(BYTECODE_KEPT)
        for _ in range(warm_runs):
            for name, page in pages.items():
                _settle(page)
                transfers[name].reset()
                page.reload(wait_until="commit")
                warm[name].append(wait_ready(page))
                _settle(page)
                warm_bytes[name].append(transfers[name].totals())
    finally:
        for context in contexts:
            context.close()
    ratios = [a / b for a, b in zip(warm["app"], warm["bare"], strict=True)]
    cold_ratios = [a / b for a, b in zip(cold["app"], cold["bare"], strict=True)]
    return {
        "cold_ms": {name: summary(values) for name, values in cold.items()},
        "warm_ms": {name: summary(values) for name, values in warm.items()},
        "warm_ratio": summary(ratios),
        "cold_ratio": summary(cold_ratios),
        "service_worker_controls_warm_app": controlled,
        "compiled_modules_kept": compiled,
        "first_visit_bytes": _bytes(cold_bytes),
        "repeat_visit_bytes": _bytes(warm_bytes),
        "last_repeat_visit_requests": {name: runs[-1]["requests"]
                                       for name, runs in warm_bytes.items() if runs},
    }


def _bytes(loads: dict[str, list[dict]]) -> dict:
    """Per page: network bytes of its code and of its API calls, over the runs."""
    return {name: {kind: summary([t["network_bytes"][kind] for t in runs])
                   for kind in ("code", "api")}
            for name, runs in loads.items() if runs}
