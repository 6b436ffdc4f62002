"""Toggle all and clear completed over many todos in the real page (Chromium, Pyodide, the real
server): one bulk write each (models/bulk.py, web/app/bulk_edit.py), kept over a reload and
synced as usual. No timing is asserted here; bench/page.py measures it."""

from __future__ import annotations

import json

import pytest

from tests.browser_helpers import open_page, run_in_pyodide, sign_up, wait_synced

pytestmark = pytest.mark.browser

N = 500

FILL = """
import js
from models import Todo, WebStorageStore
user_id = {user_id!r}
store = WebStorageStore(js.window.localStorage, app="todo:" + user_id)
T = Todo.using(store).as_user(user_id)
for i in range({n}):
    await T.create(title=f"many {{i:03d}}", order=i)
await T.count()
"""


def server_count(page, url: str, where: dict | None = None) -> int:
    query = "" if where is None else "?where=" + json.dumps(where)
    response = page.request.get(url + "/api/todos/count" + query)
    assert response.ok, response.text()
    return response.json()["count"]


def left(page) -> str:
    return page.get_by_test_id("items-left").inner_text()


def wait_left(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('[data-testid=items-left]').textContent === t", arg=text,
        timeout=120_000)


def shown_completed(page) -> list[bool]:
    return page.evaluate("() => [...document.querySelectorAll('[data-testid=todo-item]')]"
                         ".map(row => row.classList.contains('completed')"
                         " && row.querySelector('[data-testid=todo-toggle]').checked)")


def test_toggle_all_over_500_todos_flips_all_survives_a_reload_and_syncs(page, live_server):
    url = live_server.url
    account = sign_up(page, url)
    wait_synced(page)
    assert run_in_pyodide(page, url, FILL.format(user_id=account.id, n=N)) == N
    open_page(page, url + "/")
    wait_left(page, f"{N} items left")
    wait_synced(page)
    assert server_count(page, url) == N

    page.locator("label[for=toggle-all]").click()
    wait_left(page, "0 items left")
    rows = shown_completed(page)
    assert rows and all(rows), "every row shown is done, its box ticked"
    assert page.get_by_test_id("toggle-all").is_checked()
    wait_synced(page)
    assert server_count(page, url, {"completed": True}) == N, "every change reached the server"

    page.reload()
    open_page(page, url + "/", navigate=False)
    assert left(page) == "0 items left", "kept over a reload"
    assert all(shown_completed(page))
    assert page.get_by_test_id("more-count").inner_text() == f"{N - 200} not shown"

    page.locator("label[for=toggle-all]").click()  # all active again
    wait_left(page, f"{N} items left")
    assert not any(shown_completed(page))
    page.locator("label[for=toggle-all]").click()
    wait_left(page, "0 items left")
    page.get_by_test_id("clear-completed").click()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=todo-item]').length === 0",
        timeout=120_000)
    wait_synced(page)
    assert server_count(page, url) == 0, "the deletes reached the server"
    page.reload()
    open_page(page, url + "/", navigate=False)
    assert page.get_by_test_id("todo-item").count() == 0, "the clear is kept over a reload"
