"""What the browser tests do over and over: open a page and wait for Python, add a todo, read
the list, wait for a sync, ask the server directly."""

from __future__ import annotations

import json
import urllib.request

BOOT_TIMEOUT = 90_000  # ms; Pyodide starts in a few seconds, shared CI machines can be slow
SYNC_TIMEOUT = 30_000


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector('[data-testid="app-ready"]', state="attached", timeout=BOOT_TIMEOUT)
    errors = page.locator(".py-error").all_inner_texts()
    assert not errors, errors


def add_todo(page, title: str) -> None:
    before = page.get_by_test_id("todo-item").count()
    field = page.get_by_test_id("new-todo")
    field.fill(title)
    field.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=todo-item]').length > n", arg=before
    )


def titles(page) -> list[str]:
    return page.get_by_test_id("todo-title").all_inner_texts()


def wait_synced(page) -> None:
    """Until nothing is pending and the last sync finished without error."""
    page.wait_for_function(
        """() => document.querySelector('[data-testid=pending-count]').textContent === '0'
              && document.querySelector('[data-testid=sync-status]').textContent === 'idle'""",
        timeout=SYNC_TIMEOUT,
    )


def sync_now(page) -> None:
    page.get_by_test_id("sync-button").click()
    wait_synced(page)


def server_todos(url: str) -> list[dict]:
    with urllib.request.urlopen(url + "/api/todos", timeout=10) as response:
        return json.loads(response.read())
