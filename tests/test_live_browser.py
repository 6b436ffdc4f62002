"""Live updates in real Chromium against a real server: a change in one browser shows in the
user's other browser by itself, another user's browser gets no poke, an open edit box keeps its
text while a poke's pull lands, many tabs share one stream, going offline closes it and a
restarted server is live again.

"By itself" means before the 30-second interval timer could have synced: every wait for a change
to arrive is bounded by `ARRIVES_MS`, well under it, so only a poke can make it in time (no
button is clicked in the receiving browser).

Each page records the checkpoints its `EventSource`s delivered (`window.__pokes`, an init script
wrapping the browser's own class), so a test can tell which pokes a browser got.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import add_todo, log_in, open_page, sign_up, titles, wait_synced
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

ARRIVES_MS = 10_000  # the interval timer syncs every 30 s
RECORD_POKES = """
window.__pokes = [];
const NativeEventSource = window.EventSource;
window.EventSource = class extends NativeEventSource {
  constructor(url, options) {
    super(url, options);
    this.addEventListener("change", (e) => window.__pokes.push(JSON.parse(e.data).checkpoint));
  }
};
"""


def recording(browser):
    context = browser.new_context()
    context.add_init_script(RECORD_POKES)
    return context


def wait_live(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('[data-testid=live-status]').textContent === 'live'",
        timeout=ARRIVES_MS)


def wait_titles(page, expected: list[str]) -> None:
    page.wait_for_function(
        "want => JSON.stringify([...document.querySelectorAll('[data-testid=todo-title]')]"
        ".map(e => e.textContent).sort()) === JSON.stringify(want)",
        arg=sorted(expected), timeout=ARRIVES_MS)


def server_checkpoint(page, url: str) -> int:
    return page.request.get(url + "/api/checkpoint").json()["checkpoint"]


def test_changes_in_one_browser_show_in_the_other_without_a_click(browser, live_server):
    url = live_server.url
    laptop, phone, stranger_context = recording(browser), recording(browser), recording(browser)
    try:
        writer = laptop.new_page()
        account = sign_up(writer, url)
        reader = phone.new_page()
        log_in(reader, url, account)
        stranger = stranger_context.new_page()
        sign_up(stranger, url)
        for page in (writer, reader, stranger):
            wait_live(page)

        add_todo(writer, "Buy milk")
        wait_titles(reader, ["Buy milk"])

        writer.get_by_test_id("todo-title").dblclick()
        editor = writer.get_by_test_id("todo-edit")
        editor.fill("Buy oat milk")
        editor.press("Enter")
        wait_titles(reader, ["Buy oat milk"])

        writer.get_by_test_id("todo-toggle").check()
        reader.wait_for_function(
            "() => document.querySelector('[data-testid=todo-toggle]').checked",
            timeout=ARRIVES_MS)

        writer.get_by_test_id("todo-delete").click()
        wait_titles(reader, [])
        wait_synced(writer)

        # the stranger got its first poke only; after its own write, that write's poke next
        assert len(stranger.evaluate("window.__pokes")) == 1, stranger.evaluate("window.__pokes")
        add_todo(stranger, "Mine")
        wait_synced(stranger)
        own = server_checkpoint(stranger, url)
        stranger.wait_for_function("cp => window.__pokes.includes(cp)", arg=own,
                                   timeout=ARRIVES_MS)
        assert stranger.evaluate("window.__pokes").pop() == own
        assert len(stranger.evaluate("window.__pokes")) == 2, \
            "the stranger's browser was poked for another user's writes"
        assert titles(reader) == [] and titles(stranger) == ["Mine"]
    finally:
        for context in (laptop, phone, stranger_context):
            context.close()


def test_an_open_edit_box_keeps_its_text_while_a_poke_brings_a_change(browser, live_server):
    url = live_server.url
    laptop, phone = recording(browser), recording(browser)
    try:
        writer = laptop.new_page()
        account = sign_up(writer, url)
        add_todo(writer, "Call the bank")
        wait_synced(writer)
        reader = phone.new_page()
        log_in(reader, url, account)
        wait_titles(reader, ["Call the bank"])
        wait_live(reader)

        reader.get_by_test_id("todo-title").dblclick()
        editor = reader.get_by_test_id("todo-edit")
        editor.fill("Call the bank before noon")
        writer.get_by_test_id("todo-toggle").check()
        wait_synced(writer)
        toggled = server_checkpoint(writer, url)
        reader.wait_for_function("cp => window.__pokes.includes(cp)", arg=toggled,
                                 timeout=ARRIVES_MS)
        # the pull lands in the local store while the box is open
        reader.wait_for_function(
            """() => Object.keys(localStorage).some(k => {
                // a todo entry whose field shape (`<prefix>&<id>`) holds completed: true
                if (!/^o[\\w-]{4}:todos:/.test(k)) return false;
                const entry = JSON.parse(localStorage.getItem(k));
                const shape = typeof entry[2] === 'string'
                    && localStorage.getItem(k.slice(0, 6) + '&' + entry[2]);
                return !!shape && JSON.parse(shape)[1].completed === true; })""",
            timeout=ARRIVES_MS)
        reader.get_by_test_id("sync-status").filter(has_text="idle").wait_for()
        assert reader.get_by_test_id("todo-edit").input_value() == "Call the bank before noon"
        reader.get_by_test_id("todo-edit").press("Enter")
        # ending the edit shows both: the typed title on top of the other device's toggle
        wait_titles(reader, ["Call the bank before noon"])
        assert reader.get_by_test_id("todo-toggle").is_checked()
        wait_synced(reader)
        wait_titles(writer, ["Call the bank before noon"])
        assert writer.get_by_test_id("todo-toggle").is_checked()
    finally:
        laptop.close()
        phone.close()


def test_eight_tabs_share_one_stream_and_stay_live_when_the_leader_closes(browser,
                                                                           live_server):
    url = live_server.url
    tabs_context, other_context = recording(browser), recording(browser)
    try:
        first = tabs_context.new_page()
        account = sign_up(first, url)
        tabs = [first] + [tabs_context.new_page() for _ in range(7)]
        for tab in tabs[1:]:
            open_page(tab, url + "/")
        for tab in tabs:
            wait_live(tab)
        streams = sum(1 for tab in tabs if tab.evaluate("window.__pokes.length") > 0)
        assert streams == 1, f"{streams} tabs opened a stream"
        leader = next(tab for tab in tabs if tab.evaluate("window.__pokes.length") > 0)

        other = other_context.new_page()
        log_in(other, url, account)
        add_todo(other, "Seen in every tab")
        for tab in tabs:
            wait_titles(tab, ["Seen in every tab"])

        leader.close()
        rest = [tab for tab in tabs if tab is not leader]
        for tab in rest:
            wait_live(tab)
        add_todo(other, "After the leader left")
        for tab in rest:
            wait_titles(tab, ["Seen in every tab", "After the leader left"])
        streams = sum(1 for tab in rest if tab.evaluate("window.__pokes.length") > 0)
        assert streams == 1, f"{streams} tabs hold a stream after the handover"
    finally:
        tabs_context.close()
        other_context.close()


def wait_not_live(page) -> None:
    page.wait_for_function(
        "() => document.querySelector('[data-testid=live-status]').textContent === 'not live'",
        timeout=RECONNECT_MS)


RECONNECT_MS = 60_000  # the backoff between attempts grows to 30 s


@pytest.fixture
def own_server(tmp_path):
    server = LiveServer(tmp_path / "offsync.db").start()
    yield server
    server.stop()


def test_offline_closes_the_stream_and_a_restarted_server_is_live_again(browser, own_server):
    url = own_server.url
    laptop, phone = recording(browser), recording(browser)
    try:
        writer = laptop.new_page()
        account = sign_up(writer, url)
        reader = phone.new_page()
        log_in(reader, url, account)
        wait_live(writer)
        wait_live(reader)

        reader.get_by_test_id("go-offline").click()
        wait_not_live(reader)
        reader.get_by_test_id("go-online").click()
        wait_live(reader)

        own_server.stop()
        wait_not_live(writer)
        wait_not_live(reader)
        own_server.start()
        for page in (writer, reader):
            page.wait_for_function(
                "() => document.querySelector('[data-testid=live-status]').textContent"
                " === 'live'", timeout=RECONNECT_MS)
        add_todo(writer, "After the restart")
        wait_titles(reader, ["After the restart"])
    finally:
        laptop.close()
        phone.close()


@pytest.fixture
def postgres_servers(postgres_fresh_url):
    started = [LiveServer(postgres_fresh_url).start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()


def test_a_change_through_one_process_shows_in_a_browser_on_the_other(browser,
                                                                        postgres_servers):
    first, second = postgres_servers
    laptop, phone = recording(browser), recording(browser)
    try:
        writer = laptop.new_page()
        account = sign_up(writer, first.url)
        reader = phone.new_page()
        log_in(reader, second.url, account)
        wait_live(writer)
        wait_live(reader)
        add_todo(writer, "Through the first process")
        wait_titles(reader, ["Through the first process"])
        writer.get_by_test_id("todo-toggle").check()
        reader.wait_for_function(
            "() => document.querySelector('[data-testid=todo-toggle]').checked",
            timeout=ARRIVES_MS)
        writer.get_by_test_id("todo-delete").click()
        wait_titles(reader, [])
    finally:
        laptop.close()
        phone.close()
