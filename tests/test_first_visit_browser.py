"""The first page, as a user meets it: real server process, real Chromium, real Pyodide."""

from __future__ import annotations

import pytest

from tests.browser_helpers import BOOT_TIMEOUT, add_todo, open_page, sign_up, titles

pytestmark = pytest.mark.browser


def test_shows_loading_state_before_python_runs(page, live_server):
    sign_up(page, live_server.url)
    page.goto(live_server.url + "/")
    # The shell is served as HTML first: the loading state shows and the input waits for Python.
    assert page.get_by_test_id("loading").is_visible()
    assert page.get_by_test_id("new-todo").is_disabled()
    page.wait_for_selector('[data-testid="app-ready"]', state="attached", timeout=BOOT_TIMEOUT)
    assert not page.get_by_test_id("loading").is_visible()
    assert page.get_by_test_id("new-todo").is_enabled()


def test_add_todo_survives_reload_without_leaving_the_server(page, context, live_server):
    sign_up(page, live_server.url)
    page.get_by_test_id("go-offline").click()
    new_todo = page.get_by_test_id("new-todo")
    add_todo(page, "  Water the plants  ")
    assert titles(page) == ["Water the plants"]
    assert new_todo.input_value() == ""

    page.reload()
    open_page(page, live_server.url + "/", navigate=False)
    assert titles(page) == ["Water the plants"]
    assert page.get_by_test_id("items-left").inner_text() == "1 item left"

    stored = page.evaluate(  # the compact layout's document keys: `o<hash>:todos:<id>`
        "() => Object.keys(localStorage).filter(k => /^o[\\w-]{4}:todos:/.test(k))"
    )
    assert len(stored) == 1
    assert context.watch.external_requests() == []
    assert context.watch.errors == []


def test_model_validation_shows_inline_and_saves_nothing(page, live_server):
    sign_up(page, live_server.url)
    new_todo = page.get_by_test_id("new-todo")
    new_todo.fill("x" * 501)
    new_todo.press("Enter")
    error = page.get_by_test_id("error-message")
    error.wait_for(state="visible")
    assert "title" in error.inner_text() and "500" in error.inner_text()
    assert page.get_by_test_id("todo-item").count() == 0
    assert new_todo.input_value() == "x" * 501  # what the user typed is kept


def test_a_second_user_in_the_same_browser_sees_none_of_the_first_users_todos(context, live_server):
    page = context.new_page()
    sign_up(page, live_server.url)
    add_todo(page, "Alice's secret")
    page.get_by_test_id("go-offline").click()
    add_todo(page, "Alice's unsynced secret")
    page.once("dialog", lambda dialog: dialog.accept())  # the unsynced-changes warning
    page.get_by_test_id("logout").click()
    page.wait_for_url("**/login")
    sign_up(page, live_server.url)
    assert titles(page) == []
    keys = page.evaluate("() => Object.keys(localStorage)")
    assert any(":todos:" in k for k in keys), "the first user's data must stay in the browser"
