"""Shared lists in real Chromium against a real server (issue 15): user A shares a list with
user B, whose second device, offline meanwhile, gets it on reconnect; both edit the same todo
(different fields merge, the same field is a conflict either side can resolve); A unshares while
B is offline with an unsynced edit: B's device drops the list on reconnect and shows B the kept
edit (exported, then dismissed); a third user sees nothing at any point. And a viewer's page
refuses an edit forced past its disabled controls with the server's words.

The page's hooks: list-picker, new-list, list-name-input, share-list, share-dialog,
share-username, share-role, share-submit, member, member-name, member-role, member-remove,
leave-list, kept-banner, kept-item, kept-export, kept-dismiss (web/app/list_picker.py and
friends).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.browser_helpers import (
    SYNC_TIMEOUT,
    add_todo,
    edit_title,
    log_in,
    open_page,
    server_todos,
    sign_up,
    sync_now,
    wait_synced,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
DENIED = "WRITE on todos is not allowed"


def wait_titles(page, expected: list[str]) -> None:
    page.wait_for_function(
        "want => JSON.stringify([...document.querySelectorAll('[data-testid=todo-title]')]"
        ".map(e => e.textContent).sort()) === JSON.stringify(want)",
        arg=sorted(expected), timeout=SYNC_TIMEOUT)


def list_options(page) -> list[str]:
    return page.get_by_test_id("list-option").all_inner_texts()


def wait_option(page, label: str, present: bool = True) -> None:
    page.wait_for_function(
        "([label, present]) => [...document.querySelectorAll('[data-testid=list-option]')]"
        ".some(o => o.textContent === label) === present",
        arg=[label, present], timeout=SYNC_TIMEOUT)


def pick(page, label: str) -> None:
    wait_option(page, label)
    page.get_by_test_id("list-picker").select_option(label=label)
    page.wait_for_function(
        "label => { const s = document.querySelector('[data-testid=list-picker]');"
        " return s.options[s.selectedIndex].textContent === label; }", arg=label)


def new_list(page, name: str) -> None:
    page.get_by_test_id("new-list").click()
    page.get_by_test_id("list-name-input").fill(name)
    page.get_by_test_id("list-name-input").press("Enter")
    page.wait_for_function(
        "name => { const s = document.querySelector('[data-testid=list-picker]');"
        " return s.options[s.selectedIndex].textContent === name; }", arg=name)


def share(page, username: str, role: str) -> None:
    page.get_by_test_id("share-list").click()
    page.get_by_test_id("share-username").fill(username)
    page.get_by_test_id("share-role").select_option(role)
    page.get_by_test_id("share-submit").click()
    page.get_by_test_id("share-dialog").wait_for(state="hidden")
    page.locator("[data-testid=member]", has_text=username).wait_for()


def sees_nothing(page, url: str) -> None:
    """A stranger's page and server view: their own default list, nothing of anyone else's."""
    sync_now(page)
    assert list_options(page) == ["My todos"]
    assert server_todos(page, url) == []
    lists = page.request.get(url + "/api/todolists")
    assert lists.ok and lists.json() == [], lists.text()
    held = page.evaluate("() => Object.values(localStorage).join('\\n')")
    assert "Groceries" not in held and "milk" not in held


def test_share_edit_merge_conflict_unshare_offline_and_a_stranger_sees_nothing(
        browser, live_server, tmp_path):
    url = live_server.url
    contexts = [browser.new_context(accept_downloads=True) for _ in range(4)]
    try:
        a, b1, b2, c = (context.new_page() for context in contexts)
        ann = sign_up(a, url, f"ann-{secrets.token_hex(2)}")
        bob = sign_up(b1, url, f"bob-{secrets.token_hex(2)}")
        log_in(b2, url, bob)
        sign_up(c, url, f"cat-{secrets.token_hex(2)}")
        b2.get_by_test_id("go-offline").click()  # bob's second device sleeps through the share

        new_list(a, "Groceries")
        add_todo(a, "milk")
        share(a, bob.username, "editor")
        member = a.locator("[data-testid=member]", has_text=bob.username)
        assert member.get_by_test_id("member-role").input_value() == "editor"
        wait_synced(a)
        sees_nothing(c, url)

        sync_now(b1)
        pick(b1, "Groceries · editor")
        wait_titles(b1, ["milk"])
        names = b1.get_by_test_id("member-name").all_inner_texts()
        assert names == [ann.username, bob.username + " (you)"], names

        b2.get_by_test_id("go-online").click()  # reconnects: the list and its todo arrive
        pick(b2, "Groceries · editor")
        wait_titles(b2, ["milk"])

        # different fields of the same todo: A the title, B done; both end with both
        for page in (a, b1):
            page.get_by_test_id("go-offline").click()
        edit_title(a, "milk", "oat milk")
        b1.get_by_test_id("todo-toggle").check()
        for page in (a, b1):
            page.get_by_test_id("go-online").click()
            wait_synced(page)
        sync_now(a)
        for page in (a, b1):
            wait_titles(page, ["oat milk"])
            page.wait_for_function(
                "() => document.querySelector('[data-testid=todo-toggle]').checked",
                timeout=SYNC_TIMEOUT)

        # the same field: a conflict, which B resolves on the debug page; A gets B's choice
        for page in (a, b1):
            page.get_by_test_id("go-offline").click()
        edit_title(a, "oat milk", "almond milk")
        edit_title(b1, "oat milk", "soy milk")
        a.get_by_test_id("go-online").click()
        wait_synced(a)
        b1.get_by_test_id("go-online").click()
        b1.get_by_test_id("conflict-banner").wait_for(state="visible", timeout=SYNC_TIMEOUT)
        open_page(b1, url + "/debug")
        conflict = b1.get_by_test_id("conflict")
        assert "soy milk" in conflict.get_by_test_id("conflict-local").inner_text()
        assert "almond milk" in conflict.get_by_test_id("conflict-server").inner_text()
        conflict.get_by_test_id("use-local").click()
        b1.wait_for_function(
            "() => document.querySelectorAll('[data-testid=conflict]').length == 0",
            timeout=SYNC_TIMEOUT)
        open_page(b1, url + "/")
        wait_synced(b1)
        sync_now(a)
        wait_titles(a, ["soy milk"])
        assert [t["title"] for t in server_todos(a, url)] == ["soy milk"]
        sees_nothing(c, url)

        # A unshares while B's device is offline with an edit it has not sent
        b1.get_by_test_id("go-offline").click()
        b2.get_by_test_id("go-offline").click()
        wait_titles(b1, ["soy milk"])
        edit_title(b1, "soy milk", "soy milk, 2 cartons")
        a.locator("[data-testid=member]", has_text=bob.username) \
            .get_by_test_id("member-remove").click()
        a.get_by_test_id("list-members").wait_for(state="hidden")
        wait_synced(a)

        b1.get_by_test_id("go-online").click()
        b1.get_by_test_id("kept-banner").wait_for(state="visible", timeout=SYNC_TIMEOUT)
        text = b1.get_by_test_id("kept-text").inner_text()
        assert "'Groceries' is no longer shared with you" in text, text
        assert b1.get_by_test_id("kept-item").all_inner_texts() == ["soy milk, 2 cartons (done)"]
        wait_option(b1, "Groceries · editor", present=False)
        assert list_options(b1) == ["My todos"]
        wait_titles(b1, [])
        with b1.expect_download() as download:
            b1.get_by_test_id("kept-export").click()
        saved = tmp_path / "kept.json"
        download.value.save_as(saved)
        kept = json.loads(saved.read_text())["todos"]
        assert [doc["data"]["title"] for doc in kept] == ["soy milk, 2 cartons"]
        assert [t["title"] for t in server_todos(a, url)] == ["soy milk"], \
            "the server did not apply the refused edit"
        open_page(b1, url + "/debug")  # the debug page: only the default list, and the kept edit
        held = b1.get_by_test_id("held-list").all_inner_texts()
        assert len(held) == 1 and "My todos" in held[0] and "default list" in held[0], held
        assert "soy milk, 2 cartons" in b1.get_by_test_id("kept-document").inner_text()
        open_page(b1, url + "/")
        b1.get_by_test_id("kept-banner").wait_for(state="visible")  # kept until dismissed
        b1.get_by_test_id("kept-dismiss").click()
        b1.get_by_test_id("kept-banner").wait_for(state="hidden")

        b2.get_by_test_id("go-online").click()  # the other device was offline too: it forgets
        wait_option(b2, "Groceries · editor", present=False)
        wait_titles(b2, [])
        assert b2.get_by_test_id("kept-banner").is_hidden(), "nothing unsynced there"
        sees_nothing(c, url)
    finally:
        for context in contexts:
            context.close()


def test_a_viewer_cannot_edit_and_a_forced_edit_gets_the_servers_words(browser, live_server):
    url = live_server.url
    owner_context, viewer_context = browser.new_context(), browser.new_context()
    try:
        owner, viewer = owner_context.new_page(), viewer_context.new_page()
        sign_up(owner, url, f"oli-{secrets.token_hex(2)}")
        vic = sign_up(viewer, url, f"vic-{secrets.token_hex(2)}")
        new_list(owner, "Reading")
        add_todo(owner, "Dune")
        share(owner, vic.username, "viewer")
        wait_synced(owner)

        sync_now(viewer)
        pick(viewer, "Reading · viewer")
        wait_titles(viewer, ["Dune"])
        assert viewer.get_by_test_id("new-todo").is_disabled()
        assert viewer.get_by_test_id("todo-delete").is_hidden()
        assert viewer.get_by_test_id("share-list").is_hidden()
        assert viewer.get_by_test_id("leave-list").is_visible()
        viewer.get_by_test_id("todo-title").dblclick()
        assert viewer.get_by_test_id("todo-edit").count() == 0, "no edit box for a viewer"

        open_page(viewer, url + "/debug")
        held = viewer.locator("[data-testid=held-list]", has_text="Reading")
        assert "viewer" in held.inner_text() and "shared with you to read" in held.inner_text()
        assert held.locator("td").nth(3).inner_text() == "1", "its one todo is held here"
        open_page(viewer, url + "/")
        wait_titles(viewer, ["Dune"])

        # forced past the page: the model refuses, with the server's message
        viewer.evaluate("() => document.querySelector('[data-testid=todo-toggle]').click()")
        error = viewer.get_by_test_id("error-message")
        error.wait_for(state="visible")
        assert error.inner_text() == DENIED
        assert not viewer.get_by_test_id("todo-toggle").is_checked(), "the checkbox went back"
        viewer.evaluate("""() => { const f = document.querySelector('[data-testid=new-todo]');
                                   f.disabled = false; }""")
        add = viewer.get_by_test_id("new-todo")
        add.fill("sneaked in")
        add.press("Enter")
        viewer.wait_for_function(
            "() => document.querySelector('[data-testid=error-message]').textContent !== ''")
        assert error.inner_text() == DENIED
        todo_id = server_todos(viewer, url)[0]["id"]
        token = viewer.evaluate("() => document.cookie.match(/offsync_csrf=([^;]+)/)[1]")
        answer = viewer.request.patch(f"{url}/api/todos/{todo_id}", data={"completed": True},
                                      headers={"X-CSRF-Token": token})
        assert answer.status == 403 and answer.json()["error"]["message"] == DENIED
        wait_synced(viewer)
        assert [t["title"] for t in server_todos(owner, url)] == ["Dune"]

        # the viewer leaves: the list goes from their page, and the owner sees them gone
        viewer.once("dialog", lambda dialog: dialog.accept())
        viewer.get_by_test_id("leave-list").click()
        wait_option(viewer, "Reading · viewer", present=False)
        wait_synced(viewer)
        sync_now(owner)
        owner.get_by_test_id("list-members").wait_for(state="hidden", timeout=SYNC_TIMEOUT)
    finally:
        owner_context.close()
        viewer_context.close()


def test_screenshots_of_a_shared_list_and_the_share_dialog(browser, live_server):
    """docs/screenshots/todo-shared.png (a member's page) and share-dialog.png (the owner's)."""
    url = live_server.url
    contexts = [browser.new_context(viewport={"width": 1200, "height": 700}) for _ in range(2)]
    try:
        owner, member = (context.new_page() for context in contexts)
        sign_up(owner, url, f"ann-{secrets.token_hex(2)}")
        bob = sign_up(member, url, f"bob-{secrets.token_hex(2)}")
        new_list(owner, "Weekend trip")
        for title in ("Book the train", "Pack the tent", "Buy sunscreen"):
            add_todo(owner, title)
        share(owner, bob.username, "editor")
        wait_synced(owner)
        sync_now(member)
        pick(member, "Weekend trip · editor")
        member.get_by_test_id("todo-toggle").nth(0).check()
        wait_synced(member)
        member.mouse.move(0, 0)
        member.wait_for_timeout(500)  # the poke of its own push may start one more sync
        wait_synced(member)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        member.screenshot(path=SCREENSHOTS / "todo-shared.png")
        owner.get_by_test_id("share-list").click()
        owner.get_by_test_id("share-username").fill("cat")
        owner.get_by_test_id("share-role").select_option("viewer")
        owner.wait_for_timeout(200)
        owner.screenshot(path=SCREENSHOTS / "share-dialog.png")
        assert (SCREENSHOTS / "share-dialog.png").stat().st_size > 10_000
    finally:
        for context in contexts:
            context.close()
