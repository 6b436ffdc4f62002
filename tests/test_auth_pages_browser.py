"""Accounts in Chromium: who is signed in, logging out with unsynced changes, and a session that
ends while the user works offline (every local change kept, sync resumed after the next log-in)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.browser_helpers import (
    add_todo,
    log_in,
    open_page,
    server_todos,
    sign_up,
    titles,
    user_prefix,
    wait_synced,
)

pytestmark = pytest.mark.browser


def test_the_page_names_the_user_and_the_debug_page_their_namespace(page, live_server):
    account = sign_up(page, live_server.url)
    assert page.get_by_test_id("current-user").inner_text() == account.username
    open_page(page, live_server.url + "/debug")
    assert page.get_by_test_id("namespace").inner_text() == user_prefix(account.id)


def test_log_out_with_unsynced_changes_warns_and_keeps_them(page, live_server):
    account = sign_up(page, live_server.url)
    page.get_by_test_id("go-offline").click()
    add_todo(page, "Written offline, not yet sent")
    messages: list[str] = []

    def answer(dialog, accept: bool) -> None:
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_test_id("logout").click()
    for _ in range(200):  # the click's handler runs in Python on the page: wait for its dialog
        if messages:
            break
        page.wait_for_timeout(50)
    assert messages and "1 change(s) have not reached the server" in messages[0]
    assert page.url == live_server.url + "/"  # dismissed: still signed in, nothing changed

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_test_id("logout").click()
    page.wait_for_url(live_server.url + "/login")
    assert page.request.get(live_server.url + "/api/auth/session").status == 401

    log_in(page, live_server.url, account)
    assert "Written offline, not yet sent" in titles(page)  # kept in this browser
    page.get_by_test_id("go-online").click()
    wait_synced(page)
    assert [t["title"] for t in server_todos(page, live_server.url)] == [
        "Written offline, not yet sent"]


def test_session_expired_while_offline_keeps_every_change_and_sync_resumes(page, live_server):
    account = sign_up(page, live_server.url)
    add_todo(page, "Synced before the session ended")
    wait_synced(page)
    page.get_by_test_id("go-offline").click()
    add_todo(page, "Written while the session expired")

    with sqlite3.connect(live_server.db_path) as db:  # the session runs out on the server
        db.execute("UPDATE sessions SET expires_at = 0")

    page.get_by_test_id("go-online").click()
    banner = page.get_by_test_id("session-expired")
    try:
        banner.wait_for(state="visible")
    except Exception:
        status = [page.get_by_test_id(t).inner_text() for t in ("network-status", "sync-status")]
        raise AssertionError(f"no session-expired banner; footer says {status}") from None
    assert page.get_by_test_id("sync-status").inner_text() == "signed out"
    assert page.get_by_test_id("pending-count").inner_text() == "1"
    assert sorted(titles(page)) == ["Synced before the session ended",
                                    "Written while the session expired"]
    add_todo(page, "Written after it expired")  # the app keeps working locally

    banner.get_by_role("link", name="Log in").click()
    page.wait_for_url(live_server.url + "/login")
    log_in(page, live_server.url, account)
    wait_synced(page)
    assert page.get_by_test_id("session-expired").is_hidden()
    assert sorted(t["title"] for t in server_todos(page, live_server.url)) == [
        "Synced before the session ended", "Written after it expired",
        "Written while the session expired"]


def test_a_reload_opens_as_the_confirmed_user_and_then_learns_the_session_ended(page, live_server):
    """The page opens at once as the user whose session the server confirmed last (no round
    trip first); the background check then finds the session gone and says so."""
    account = sign_up(page, live_server.url)
    page.get_by_test_id("go-offline").click()  # no sync: only the session check can tell
    add_todo(page, "Kept across the reload")
    with sqlite3.connect(live_server.db_path) as db:
        db.execute("UPDATE sessions SET expires_at = 0")
    page.reload()
    open_page(page, live_server.url + "/", navigate=False)
    assert page.get_by_test_id("current-user").inner_text() == account.username
    assert titles(page) == ["Kept across the reload"]
    page.get_by_test_id("session-expired").wait_for(state="visible")
    assert page.get_by_test_id("sync-status").inner_text() == "signed out"


def test_a_server_error_on_the_session_check_is_not_taken_for_a_logged_out_user(page,
                                                                                 live_server):
    """A 503 from the session check (a server in trouble) keeps the user signed in and working;
    only a 401 means the session ended."""
    account = sign_up(page, live_server.url)
    add_todo(page, "Still mine")
    # forget the confirmed session token, so the next start asks the server before opening
    page.evaluate("""() => {
        const cached = JSON.parse(localStorage.getItem('offsync:todo:session'));
        delete cached.csrf;
        localStorage.setItem('offsync:todo:session', JSON.stringify(cached));
    }""")
    page.route("**/api/auth/session", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": {"status": 503, "code": "UNAVAILABLE", "message": "down", "details": {}}}'))
    page.reload()
    open_page(page, live_server.url + "/", navigate=False)
    assert page.get_by_test_id("current-user").inner_text() == account.username
    assert titles(page) == ["Still mine"]
    assert page.get_by_test_id("session-expired").is_hidden()
