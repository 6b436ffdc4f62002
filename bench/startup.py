"""Start-up: navigation start to `app-ready`, the todo page next to a bare page that only loads
the same local Pyodide (bench/pages/bare.html), cold and warm, interleaved in one run.

Cold: a fresh browser context each time (empty HTTP cache, no service worker). Warm: one context
per page, loaded once, then reloaded; for the todo page the service worker is active first
(`navigator.serviceWorker.ready`, which waits for its precache), the bare page has only the HTTP
cache (it registers no worker).
"""

from __future__ import annotations

from .auth import Session
from .browser import new_context, wait_ready
from .stats import summary

PAGES = {"app": "/", "bare": "/bench/bare.html"}


def _cold(browser, base_url: str, path: str, session: Session) -> float:
    context = new_context(browser, base_url, session)
    try:
        page = context.new_page()
        page.goto(base_url + path, wait_until="commit")
        return wait_ready(page)
    finally:
        context.close()


def run(browser, base_url: str, session: Session, cold_runs: int, warm_runs: int) -> dict:
    cold: dict[str, list[float]] = {name: [] for name in PAGES}
    warm: dict[str, list[float]] = {name: [] for name in PAGES}
    for _ in range(cold_runs):
        for name, path in PAGES.items():
            cold[name].append(_cold(browser, base_url, path, session))
    contexts, pages = [], {}
    try:
        for name, path in PAGES.items():
            context = new_context(browser, base_url, session)
            contexts.append(context)
            page = context.new_page()
            page.goto(base_url + path, wait_until="commit")
            wait_ready(page)
            pages[name] = page
        pages["app"].evaluate("async () => { await navigator.serviceWorker.ready; }")
        for page in pages.values():  # one unmeasured reload: the worker now controls it
            page.reload(wait_until="commit")
            wait_ready(page)
        controlled = pages["app"].evaluate("!!navigator.serviceWorker.controller")
        for _ in range(warm_runs):
            for name, page in pages.items():
                page.reload(wait_until="commit")
                warm[name].append(wait_ready(page))
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
    }
