"""The first page, as a user meets it: real server process, real Chromium, real Pyodide."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

BOOT_TIMEOUT = 90_000  # ms; Pyodide starts in a few seconds, shared CI machines can be slow


def open_app(page, url: str) -> None:
    page.goto(url + "/")
    page.wait_for_selector('[data-testid="app-ready"]', state="attached", timeout=BOOT_TIMEOUT)
    assert page.locator(".py-error").count() == 0, page.locator(".py-error").all_inner_texts()


def test_shows_loading_state_before_python_runs(page, live_server):
    page.goto(live_server.url + "/")
    # The shell is served as HTML first: the loading state shows and the input waits for Python.
    assert page.get_by_test_id("loading").is_visible()
    assert page.get_by_test_id("new-todo").is_disabled()
    page.wait_for_selector('[data-testid="app-ready"]', state="attached", timeout=BOOT_TIMEOUT)
    assert not page.get_by_test_id("loading").is_visible()
    assert page.get_by_test_id("new-todo").is_enabled()


def test_add_todo_survives_reload_without_leaving_the_server(page, context, live_server):
    open_app(page, live_server.url)
    new_todo = page.get_by_test_id("new-todo")
    new_todo.fill("  Water the plants  ")
    new_todo.press("Enter")
    page.wait_for_selector('[data-testid="todo-item"]')
    assert page.get_by_test_id("todo-title").all_inner_texts() == ["Water the plants"]
    assert new_todo.input_value() == ""

    page.reload()
    open_app(page, live_server.url)
    assert page.get_by_test_id("todo-title").all_inner_texts() == ["Water the plants"]
    assert page.get_by_test_id("items-left").inner_text() == "1 item left"

    stored = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('offsync:todo:todos:doc:'))"
    )
    assert len(stored) == 1
    assert context.watch.external_requests() == []
    assert context.watch.errors == []


def test_model_validation_shows_inline_and_saves_nothing(page, live_server):
    open_app(page, live_server.url)
    new_todo = page.get_by_test_id("new-todo")
    new_todo.fill("x" * 501)
    new_todo.press("Enter")
    error = page.get_by_test_id("error-message")
    error.wait_for(state="visible")
    assert "title" in error.inner_text() and "500" in error.inner_text()
    assert page.get_by_test_id("todo-item").count() == 0
    assert new_todo.input_value() == "x" * 501  # what the user typed is kept


def test_title_is_rendered_as_text(page, live_server):
    open_app(page, live_server.url)
    page.on("dialog", lambda dialog: pytest.fail(f"a title ran script: {dialog.message}"))
    new_todo = page.get_by_test_id("new-todo")
    new_todo.fill("<img src=x onerror=alert(1)>")
    new_todo.press("Enter")
    page.wait_for_selector('[data-testid="todo-item"]')
    assert page.get_by_test_id("todo-title").inner_text() == "<img src=x onerror=alert(1)>"
    assert page.locator(".todo-list img").count() == 0
