"""A deploy of a new model version, in Chromium against real servers: a user works offline under
version 1 (creates, edits, leaves a conflict), the server restarts with version 2, the page comes
online: its push is taken (nothing lost, a tab still on version 1 pushing to the version 2
server), its pull is refused and the page is told to update (`offsync:update-required`); after
the reload its localStorage is migrated, everything syncs and the conflict is still there and
resolvable.

"A server running version 1" is this repository's server run over a copy of `models/` whose
`todo.py` is version 1's (`tests/fixtures/todo_v1.py`, the file as it was before version 2): the
browser gets that package, as it got it from the version 1 deploy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from models.todo import Todo
from tests.browser_helpers import (
    add_todo,
    edit_title,
    open_page,
    run_in_pyodide,
    server_todos,
    sign_up,
    stored_docs,
    titles,
    user_prefix,
    wait_synced,
)
from tests.live_server import ROOT, LiveServer

NOW = Todo.version  # the version this repository's models/ run: the deploy after version 1

V1_TODO = Path(__file__).resolve().parent / "fixtures" / "todo_v1.py"
TIMEOUT = 30_000


def v1_checkout(tmp_path: Path) -> Path:
    """A directory whose `models/` is today's with `Todo` at version 1."""
    root = tmp_path / "v1"
    shutil.copytree(ROOT / "models", root / "models",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(V1_TODO, root / "models" / "todo.py")
    return root


def wait_status(page, status: str) -> None:
    page.wait_for_function(
        "s => document.querySelector('[data-testid=sync-status]').textContent === s",
        arg=status, timeout=TIMEOUT)


def local_entries(page, prefix: str) -> dict[str, str]:
    return page.evaluate("p => Object.fromEntries(Object.entries(localStorage)"
                         ".filter(([k]) => k.startsWith(p)))", prefix)


def test_offline_work_under_v1_survives_a_deploy_of_v2(browser, tmp_path):
    db = tmp_path / "offsync.db"
    old = LiveServer(db, cwd=v1_checkout(tmp_path), env={"PYTHONPATH": str(ROOT)}).start()
    new = None
    context = browser.new_context()
    try:
        page = context.new_page()
        account = sign_up(page, old.url)
        url = old.url
        for title in ("milk", "bread"):
            add_todo(page, title)
        wait_synced(page)
        before = {t["title"]: t for t in server_todos(page, url)}
        assert set(before) == {"milk", "bread"} and "due" not in before["milk"], before

        # a conflict, under version 1: the server's milk changes while the page edits it offline
        page.get_by_test_id("go-offline").click()
        csrf = page.evaluate("async () => (await (await fetch('/api/auth/session')).json()).csrf")
        theirs = page.request.patch(f"{url}/api/todos/{before['milk']['id']}",
                                    data=json.dumps({"title": "milk theirs"}),
                                    headers={"X-CSRF-Token": csrf,
                                             "Content-Type": "application/json"})
        assert theirs.ok, theirs.text()
        edit_title(page, "milk", "milk mine")
        page.get_by_test_id("go-online").click()
        page.get_by_test_id("conflict-banner").wait_for(state="visible", timeout=TIMEOUT)

        # more offline work under version 1, then the deploy of version 2 on the same database
        page.get_by_test_id("go-offline").click()
        add_todo(page, "eggs")
        edit_title(page, "bread", "bread edited")
        old.stop()
        new = LiveServer(db, port=old.port).start()
        assert new.url == url
        page.evaluate("""() => { window.updateEvents = [];
            window.addEventListener('offsync:update-required',
                                    e => window.updateEvents.push(e.detail)); }""")
        page.get_by_test_id("go-online").click()
        page.wait_for_function("() => window.updateEvents.length > 0", timeout=TIMEOUT)
        detail = page.evaluate("() => window.updateEvents[0]")
        assert (detail["model"], detail["client_version"], detail["server_version"]) == (
            "Todo", 1, NOW), detail
        assert page.evaluate("() => window.offsyncUpdateRequired.server_version") == NOW
        wait_status(page, "update required")
        prompt = page.get_by_test_id("update-prompt")
        prompt.wait_for(timeout=TIMEOUT)
        # "ready" when the page's own check saw the new build first, "required" when the pull did
        assert prompt.get_attribute("data-reason") in ("ready", "required")
        # the tab still on version 1 pushed to the version 2 server: nothing lost
        pushed = {t["title"]: t for t in server_todos(page, url)}
        assert set(pushed) == {"milk theirs", "bread edited", "eggs"}, pushed
        assert all(t["due"] is None for t in pushed.values()), pushed

        # the user's Reload runs version 2: localStorage migrated, the sync goes through
        with page.expect_navigation(timeout=TIMEOUT):
            page.get_by_test_id("update-reload").click()
        open_page(page, url, navigate=False)
        prefix = user_prefix(account.id)
        wait_status(page, "idle")
        entries = local_entries(page, prefix)
        assert entries[prefix + "=version:todos"] == str(NOW), entries
        docs = list(stored_docs(entries, prefix).values())
        assert len(docs) == 3 and all(d["data"].get("due", "missing") is None for d in docs), docs
        assert sorted(titles(page)) == ["bread edited", "eggs", "milk mine"], titles(page)
        page.get_by_test_id("conflict-banner").wait_for(state="visible", timeout=TIMEOUT)

        # the conflict left under version 1 resolves under version 2
        open_page(page, url + "/debug")
        conflict = page.get_by_test_id("conflict")
        assert conflict.count() == 1
        assert "milk mine" in conflict.get_by_test_id("conflict-local").inner_text()
        assert "milk theirs" in conflict.get_by_test_id("conflict-server").inner_text()
        conflict.get_by_test_id("use-local").click()
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=conflict]').length == 0",
            timeout=TIMEOUT)
        open_page(page, url + "/")
        page.wait_for_function(
            """() => document.querySelector('[data-testid=pending-count]').textContent === '0'
                  && document.querySelector('[data-testid=sync-status]').textContent === 'idle'""",
            timeout=TIMEOUT)
        assert page.get_by_test_id("conflict-banner").is_hidden()
        final = sorted((t["title"], t["due"]) for t in server_todos(page, url))
        assert final == [("bread edited", None), ("eggs", None), ("milk mine", None)], final
    finally:
        context.close()
        old.stop()
        if new is not None:
            new.stop()


def test_a_tab_is_told_to_update_when_another_moves_the_store_to_a_newer_version(
        context, live_server):
    first, second = context.new_page(), context.new_page()
    account = sign_up(first, live_server.url)
    open_page(second, live_server.url + "/")
    second.evaluate("""() => { window.updateEvents = [];
        window.addEventListener('offsync:update-required',
                                e => window.updateEvents.push(e.detail)); }""")
    key = user_prefix(account.id) + "=version:todos"
    assert first.evaluate("k => localStorage.getItem(k)", key) == str(NOW)  # migrated at start
    put = "([k, v]) => localStorage.setItem(k, v)"
    first.evaluate(put, [key, str(NOW)])  # the same version: nothing
    first.evaluate(put, [key, str(NOW + 1)])  # as a newer tab's start would
    second.wait_for_function("() => window.updateEvents.length > 0", timeout=TIMEOUT)
    events = second.evaluate("() => window.updateEvents")
    assert [(e["client_version"], e["server_version"]) for e in events] == [(NOW, NOW + 1)], events


PROGRESS_WATCH = """() => {
    window.migrationTexts = [];
    window.migrationTicks = 0;
    const timer = setInterval(() => { window.migrationTicks += 1; }, 5);
    new MutationObserver(() => {
        const box = document.querySelector('[data-testid=loading]');
        const text = box ? box.textContent.trim() : '';
        const last = window.migrationTexts[window.migrationTexts.length - 1];
        if (text.startsWith('Updating') && (!last || last.text !== text))
            window.migrationTexts.push({text, ticks: window.migrationTicks});
        if (document.querySelector('[data-testid=app-ready]')) clearInterval(timer);
    }).observe(document, {subtree: true, childList: true, characterData: true});
}"""


def test_a_large_store_migrates_in_steps_with_progress_shown(browser, tmp_path):
    """450 todos written by version 1 code: the version 2 page migrates them in pages of 200,
    says how far it got, and the page keeps running between pages (timers fire)."""
    db = tmp_path / "offsync.db"
    old = LiveServer(db, cwd=v1_checkout(tmp_path), env={"PYTHONPATH": str(ROOT)}).start()
    new = None
    # no service worker: this test is about the migration, not about which build is served
    context = browser.new_context(service_workers="block")
    try:
        page = context.new_page()
        account = sign_up(page, old.url)
        page.get_by_test_id("go-offline").click()  # the 450 stay unsynced: migrated as edits
        written = run_in_pyodide(page, old.url, f"""
import js
from models import Todo, WebStorageStore
store = WebStorageStore(js.localStorage, app="todo:{account.id}")
todos = Todo.using(store).as_user("{account.id}")
for i in range(450):
    await todos.create(title=f"todo {{i:03}}")
(Todo.version, len(await todos.find()))
""")
        assert list(written) == [1, 450], written
        old.stop()
        new = LiveServer(db, port=old.port).start()
        page.add_init_script(f"({PROGRESS_WATCH})()")
        open_page(page, new.url + "/")
        texts = page.evaluate("() => window.migrationTexts")
        shown = [t["text"] for t in texts]
        # each page of 200 is shown as it is done (the "0 of 450" before the first page is
        # replaced before the browser gets to show it)
        assert shown[-3:] == [f"Updating your saved todos: {n} of 450" for n in (200, 400, 450)]
        # the page's own timers ran while the pages were migrated: it never froze for the lot
        assert texts[-1]["ticks"] > texts[0]["ticks"], texts
        assert page.get_by_test_id("todo-item").count() >= 1
        assert page.get_by_test_id("pending-count").inner_text() == "450"
        page.get_by_test_id("go-online").click()
        wait_status(page, "idle")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=pending-count]').textContent === '0'",
            timeout=TIMEOUT)
        pushed = server_todos(page, new.url)
        assert len(pushed) == 450 and all(t["due"] is None for t in pushed), len(pushed)
        assert sorted(t["title"] for t in pushed) == [f"todo {i:03}" for i in range(450)]
    finally:
        context.close()
        old.stop()
        if new is not None:
            new.stop()


def test_a_store_of_a_version_this_code_cannot_read_is_refused_and_left_alone(
        context, live_server):
    """Data stored by a newer version (say the deploy was rolled back): the page names the
    model and version, does not start, and writes nothing over the user's data."""
    page = context.new_page()
    account = sign_up(page, live_server.url)
    add_todo(page, "kept")
    wait_synced(page)  # the sync of the write is over: from here on, only the reload could write
    prefix = user_prefix(account.id)
    key = next(k for k in local_entries(page, prefix) if k.endswith("version:todos"))
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, str(NOW + 1)])
    before = local_entries(page, prefix)
    page.reload()
    page.get_by_test_id("error-message").wait_for(state="visible", timeout=TIMEOUT)
    message = page.get_by_test_id("error-message").inner_text()
    assert "Todo" in message and str(NOW + 1) in message, message
    loading = page.get_by_test_id("loading").inner_text()
    assert loading.startswith("This version of the app cannot open your saved data"), loading
    assert page.locator('[data-testid="app-ready"]').count() == 0
    assert page.get_by_test_id("new-todo").is_disabled()
    page.wait_for_timeout(500)  # whatever the page might still do, it must not write
    assert local_entries(page, prefix) == before
