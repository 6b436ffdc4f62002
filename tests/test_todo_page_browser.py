"""The offline todo app as users meet it: real server process, real Chromium, real Pyodide."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.browser_helpers import (
    add_todo,
    log_in,
    open_page,
    server_todos,
    sign_up,
    sync_now,
    titles,
    user_prefix,
    wait_synced,
)
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def test_todomvc_add_edit_toggle_delete_filter(page, live_server):
    sign_up(page, live_server.url)
    for title in ("Buy milk", "Water the plants", "Call mum"):
        add_todo(page, title)
    assert titles(page) == ["Buy milk", "Water the plants", "Call mum"]
    assert page.get_by_test_id("items-left").inner_text() == "3 items left"

    page.get_by_test_id("todo-toggle").nth(1).check()
    page.wait_for_function("() => document.querySelector('[data-testid=items-left]')"
                           ".textContent === '2 items left'")
    page.get_by_test_id("filter-active").click()
    page.wait_for_url("**/#/active")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=todo-item]').length == 2")
    assert titles(page) == ["Buy milk", "Call mum"]
    page.get_by_test_id("filter-completed").click()
    page.wait_for_url("**/#/completed")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=todo-item]').length == 1")
    assert titles(page) == ["Water the plants"]
    page.reload()
    open_page(page, page.url)  # the filter is in the URL and survives a reload
    assert titles(page) == ["Water the plants"]
    page.get_by_test_id("filter-all").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=todo-item]').length == 3")

    # Edit: double-click, Enter saves; Escape cancels; an empty title deletes.
    page.get_by_test_id("todo-title").first.dblclick()
    page.get_by_test_id("todo-edit").fill("Buy oat milk")
    page.get_by_test_id("todo-edit").press("Enter")
    page.wait_for_function("() => !document.querySelector('[data-testid=todo-edit]')")
    assert titles(page)[0] == "Buy oat milk"
    page.get_by_test_id("todo-title").first.dblclick()
    page.get_by_test_id("todo-edit").fill("never saved")
    page.get_by_test_id("todo-edit").press("Escape")
    page.wait_for_function("() => !document.querySelector('[data-testid=todo-edit]')")
    assert titles(page)[0] == "Buy oat milk"
    page.get_by_test_id("todo-title").last.dblclick()
    page.get_by_test_id("todo-edit").fill("   ")
    page.get_by_test_id("todo-edit").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=todo-item]').length == 2")
    assert titles(page) == ["Buy oat milk", "Water the plants"]

    # Delete, toggle all, clear completed.
    add_todo(page, "Temporary")
    page.get_by_test_id("todo-item").last.hover()
    page.get_by_test_id("todo-delete").last.click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=todo-item]').length == 2")
    page.locator("label[for=toggle-all]").click()
    page.wait_for_function("() => document.querySelector('[data-testid=items-left]')"
                           ".textContent === '0 items left'")
    page.get_by_test_id("clear-completed").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=todo-item]').length == 0")


def due_of(page, title: str) -> str | None:
    """The due text shown in the row of `title`, None when the row shows none."""
    row = page.locator("[data-testid=todo-item]", has_text=title)
    due = row.get_by_test_id("todo-due")
    return due.inner_text() if due.count() else None


def edit_due(page, title: str, value: str) -> None:
    page.locator("[data-testid=todo-title]", has_text=title).dblclick()
    page.get_by_test_id("todo-due-edit").fill(value)
    page.get_by_test_id("todo-due-edit").press("Enter")


def test_a_due_date_is_set_shown_synced_kept_over_a_reload_and_cleared(browser, live_server):
    url = live_server.url
    laptop, phone = browser.new_context(), browser.new_context()
    try:
        page = laptop.new_page()
        account = sign_up(page, url)
        add_todo(page, "Pay rent")
        assert due_of(page, "Pay rent") is None  # Enter with no date: TodoMVC as before

        edit_due(page, "Pay rent", "2030-03-15")
        page.wait_for_function("() => !document.querySelector('[data-testid=todo-edit]')")
        assert due_of(page, "Pay rent") == "due Fri 15 Mar 2030"
        assert "overdue" not in page.get_by_test_id("todo-due").get_attribute("class")
        wait_synced(page)
        assert [t["due"] for t in server_todos(page, url)] == ["2030-03-15"]

        # a due date given with the new todo; in the past, not done: overdue
        page.get_by_test_id("new-todo-due").fill("2020-01-06")
        add_todo(page, "File the 2019 taxes")
        assert due_of(page, "File the 2019 taxes") == "due Mon 6 Jan 2020"
        late = page.locator("[data-testid=todo-item]", has_text="2019 taxes")
        assert "overdue" in late.get_by_test_id("todo-due").get_attribute("class")
        assert page.get_by_test_id("new-todo-due").input_value() == ""
        late.get_by_test_id("todo-toggle").check()  # done: no longer overdue
        page.wait_for_function("() => !document.querySelector('.due.overdue')")

        other = phone.new_page()
        log_in(other, url, account)
        other.wait_for_function("() => document.querySelectorAll('[data-testid=todo-due]')"
                                ".length == 2", timeout=30_000)
        assert due_of(other, "Pay rent") == "due Fri 15 Mar 2030"

        page.reload()
        open_page(page, url + "/")
        assert due_of(page, "Pay rent") == "due Fri 15 Mar 2030"

        # a date the model refuses: its message, and the edit box keeps what was typed
        page.locator("[data-testid=todo-title]", has_text="Pay rent").dblclick()
        page.get_by_test_id("todo-edit").fill("Pay the rent")
        page.get_by_test_id("todo-due-edit").fill("12345-06-01")
        page.get_by_test_id("todo-due-edit").press("Enter")
        error = page.get_by_test_id("error-message")
        error.wait_for(state="visible")
        assert "due: must be a date YYYY-MM-DD" in error.inner_text()
        assert page.get_by_test_id("todo-edit").input_value() == "Pay the rent"
        assert page.get_by_test_id("todo-due-edit").input_value() == "12345-06-01"
        page.get_by_test_id("todo-due-edit").fill("")  # cleared: saved with no due date
        page.get_by_test_id("todo-due-edit").press("Enter")
        page.wait_for_function("() => !document.querySelector('[data-testid=todo-edit]')")
        assert error.is_hidden()
        assert titles(page)[0] == "Pay the rent" and due_of(page, "Pay the rent") is None
        wait_synced(page)
        by_title = {t["title"]: t["due"] for t in server_todos(page, url)}
        assert by_title == {"Pay the rent": None, "File the 2019 taxes": "2020-01-06"}
        sync_now(other)
        other.wait_for_function("() => document.querySelectorAll('[data-testid=todo-due]')"
                                ".length == 1", timeout=30_000)
    finally:
        laptop.close()
        phone.close()


def test_offline_add_then_online_sync_reaches_the_server(page, live_server):
    sign_up(page, live_server.url)
    wait_synced(page)
    page.get_by_test_id("go-offline").click()
    assert "offline" in page.get_by_test_id("network-status").inner_text()
    add_todo(page, "Written on a plane")
    assert page.get_by_test_id("pending-count").inner_text() == "1"
    page.wait_for_timeout(1500)  # longer than the sync debounce: offline means no sync at all
    assert "Written on a plane" not in [t["title"] for t in server_todos(page, live_server.url)]
    page.get_by_test_id("go-online").click()
    assert page.get_by_test_id("network-status").inner_text() == "online"
    wait_synced(page)
    assert "Written on a plane" in [t["title"] for t in server_todos(page, live_server.url)]


def test_browser_offline_event_switches_status(page, context, live_server):
    sign_up(page, live_server.url)
    context.set_offline(True)
    page.wait_for_function("() => document.querySelector('[data-testid=network-status]')"
                           ".textContent.includes('offline')")
    add_todo(page, "No network here")
    context.set_offline(False)
    page.wait_for_function("() => document.querySelector('[data-testid=network-status]')"
                           ".textContent === 'online'")
    wait_synced(page)
    assert "No network here" in [t["title"] for t in server_todos(page, live_server.url)]


def test_xss_title_is_shown_as_text(page, live_server):
    sign_up(page, live_server.url)
    page.on("dialog", lambda dialog: pytest.fail(f"a title ran script: {dialog.message}"))
    add_todo(page, "<img src=x onerror=alert(1)>")
    assert "<img src=x onerror=alert(1)>" in titles(page)
    assert page.locator(".todo-list img").count() == 0


def test_quota_exceeded_refuses_the_write_and_keeps_everything(page, live_server):
    account = sign_up(page, live_server.url)
    page.get_by_test_id("go-offline").click()
    add_todo(page, "Already here")
    # Fill the origin's storage to within a few hundred characters of the quota.
    page.evaluate("""() => {
        let chunk = 'x'.repeat(1 << 20), i = 0;
        while (chunk.length > 16) {
            try { localStorage.setItem('filler:' + (i++), chunk); }
            catch (e) { chunk = chunk.slice(0, chunk.length >> 1); }
        }
    }""")
    mine = ("p => JSON.stringify(Object.entries(localStorage).filter(([k]) => "
            "k.startsWith('offsync:') || k.startsWith(p)).sort())")
    prefix = user_prefix(account.id)
    before = page.evaluate(mine, prefix)
    shown = titles(page)
    assert "Already here" in shown
    field = page.get_by_test_id("new-todo")
    field.fill("This will not fit " + "y" * 400)
    field.press("Enter")
    error = page.get_by_test_id("error-message")
    error.wait_for(state="visible")
    assert "full" in error.inner_text()
    after = page.evaluate(mine, prefix)
    assert after == before, "a refused write changed what was stored"
    assert titles(page) == shown
    assert field.input_value().startswith("This will not fit")  # what the user typed is kept


def test_corrupted_entry_is_flagged_on_the_debug_page_and_the_rest_works(page, live_server):
    account = sign_up(page, live_server.url)
    page.get_by_test_id("go-offline").click()
    add_todo(page, "Still fine")
    key = user_prefix(account.id) + "todos:broken"  # inside this user's namespace
    page.evaluate("key => localStorage.setItem(key, '{oops')", key)
    page.reload()
    open_page(page, live_server.url + "/")
    assert "Still fine" in titles(page)
    open_page(page, live_server.url + "/debug")
    broken = page.locator(f'[data-testid=storage-entry][data-key="{key}"]')
    assert broken.get_attribute("data-corrupt") == "true"
    assert "unreadable" in broken.inner_text()
    # the good entry is spelled out: its name in the long form, the body unpacked
    good = page.locator("[data-testid=storage-entry]:not([data-corrupt])",
                        has_text="todos:doc:")
    assert good.count() == 1, good.count()
    assert '"title": "Still fine"' in good.text_content() and \
        '"completed": false' in good.text_content()
    pending = page.get_by_test_id("pending-change")
    assert pending.count() == 1 and "Still fine" in pending.inner_text()
    assert page.evaluate("key => localStorage.getItem(key)", key) == "{oops"


@pytest.mark.parametrize("choice", ["use-local", "use-server", "merge-manually"])
def test_conflict_then_each_resolution_converges(browser, live_server, choice):
    a_context, b_context = browser.new_context(), browser.new_context()
    try:
        a, b = a_context.new_page(), b_context.new_page()
        account = sign_up(a, live_server.url)
        add_todo(a, f"Shared {choice}")
        wait_synced(a)
        log_in(b, live_server.url, account)
        b.wait_for_function(f"() => [...document.querySelectorAll('[data-testid=todo-title]')]"
                            f".some(e => e.textContent === 'Shared {choice}')")
        for page in (a, b):
            page.get_by_test_id("go-offline").click()
        in_a, in_b, by_hand = (f"Edited in A ({choice})", f"Edited in B ({choice})",
                               f"Merged by hand ({choice})")
        for page, title in ((a, in_a), (b, in_b)):
            item = page.locator("[data-testid=todo-title]", has_text=f"Shared {choice}")
            item.dblclick()
            page.get_by_test_id("todo-edit").fill(title)
            page.get_by_test_id("todo-edit").press("Enter")
            page.wait_for_function("() => !document.querySelector('[data-testid=todo-edit]')")
        a.get_by_test_id("go-online").click()
        wait_synced(a)
        b.get_by_test_id("go-online").click()
        b.get_by_test_id("conflict-banner").wait_for(state="visible", timeout=30_000)

        open_page(b, live_server.url + "/debug")
        conflict = b.get_by_test_id("conflict")
        assert conflict.count() == 1
        assert in_b in conflict.get_by_test_id("conflict-local").inner_text()
        assert in_a in conflict.get_by_test_id("conflict-server").inner_text()
        if choice == "merge-manually":
            conflict.get_by_test_id("merge-manually").click()
            b.get_by_test_id("merge-title").fill(by_hand)
            b.get_by_test_id("merge-save").click()
            expected = by_hand
        else:
            conflict.get_by_test_id(choice).click()
            expected = in_b if choice == "use-local" else in_a
        b.wait_for_function("() => document.querySelectorAll('[data-testid=conflict]').length == 0",
                            timeout=30_000)
        open_page(b, live_server.url + "/")
        wait_synced(b)
        assert b.get_by_test_id("conflict-banner").is_hidden()
        sync_now(a)
        for page in (a, b):
            page.wait_for_function(
                f"() => [...document.querySelectorAll('[data-testid=todo-title]')]"
                f".some(e => e.textContent === {expected!r})", timeout=30_000)
        on_server = [t["title"] for t in server_todos(a, live_server.url)]
        assert expected in on_server, on_server
        losers = {in_a, in_b, by_hand} - {expected}
        assert not losers & set(on_server), on_server
    finally:
        a_context.close()
        b_context.close()


def test_two_tabs_stay_consistent_and_converge(context, live_server):
    one, two = context.new_page(), context.new_page()
    sign_up(one, live_server.url)
    open_page(two, live_server.url + "/")
    add_todo(one, "Typed in tab one")
    two.wait_for_function("() => [...document.querySelectorAll('[data-testid=todo-title]')]"
                          ".some(e => e.textContent === 'Typed in tab one')")
    add_todo(two, "Typed in tab two")
    one.wait_for_function("() => [...document.querySelectorAll('[data-testid=todo-title]')]"
                          ".some(e => e.textContent === 'Typed in tab two')")
    wait_synced(one)
    wait_synced(two)
    on_server = [t["title"] for t in server_todos(one, live_server.url)]
    assert on_server.count("Typed in tab one") == 1 and on_server.count("Typed in tab two") == 1


def test_reload_with_the_server_stopped_opens_from_the_service_worker(browser, tmp_path):
    server = LiveServer(tmp_path / "sw.db").start()
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_up(page, server.url)
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        add_todo(page, "Before the outage")
        wait_synced(page)
        server.stop()
        page.reload()
        open_page(page, server.url + "/")
        assert titles(page) == ["Before the outage"]
        add_todo(page, "During the outage")
        page.get_by_test_id("sync-button").click()
        page.wait_for_function("() => document.querySelector('[data-testid=network-status]')"
                               ".textContent.includes('unreachable')", timeout=30_000)
        server = LiveServer(tmp_path / "sw.db", port=server.port).start()
        page.get_by_test_id("sync-button").click()
        wait_synced(page)
        on_server = [t["title"] for t in server_todos(page, server.url)]
        assert sorted(on_server) == ["Before the outage", "During the outage"]
    finally:
        context.close()
        server.stop()


@pytest.mark.parametrize("width, name", [(1200, "desktop"), (390, "mobile")])
def test_screenshots_of_both_pages(browser, live_server, width, name):
    context = browser.new_context(viewport={"width": width, "height": 860})
    try:
        page = context.new_page()
        sign_up(page, live_server.url, f"ada-{name}-{secrets.token_hex(2)}")
        page.get_by_test_id("go-offline").click()
        for title, due in (("Plan the offsync demo", "2030-03-15"),
                           ("Write the protocol notes", None), ("Buy oat milk", "2020-01-06")):
            page.get_by_test_id("new-todo-due").fill(due or "")
            add_todo(page, title)
        page.get_by_test_id("todo-toggle").nth(1).check()
        page.wait_for_timeout(200)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"todo-{name}.png", full_page=True)
        open_page(page, live_server.url + "/debug")
        page.screenshot(path=SCREENSHOTS / f"debug-{name}.png", full_page=True)
        assert (SCREENSHOTS / f"debug-{name}.png").stat().st_size > 10_000
    finally:
        context.close()
