"""The todo app in real Chromium against two `offsync serve` processes on one PostgreSQL
database: a user works offline in one browser, comes back online through the first process, and
a second device of theirs, signed in through the other process, gets everything."""

from __future__ import annotations

import pytest

from tests.browser_helpers import (
    add_todo,
    log_in,
    server_todos,
    sign_up,
    titles,
    wait_synced,
)
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def postgres_servers(postgres_cluster):
    url = postgres_cluster.create_database()
    started = [LiveServer(url).start() for _ in range(2)]
    yield started
    for server in started:
        server.stop()
    postgres_cluster.drop_database(url)


def test_offline_work_reaches_another_device_through_another_process(browser, postgres_servers):
    first, second = postgres_servers
    laptop = browser.new_context()
    phone = browser.new_context()
    try:
        page = laptop.new_page()
        account = sign_up(page, first.url)
        add_todo(page, "Synced at once")
        wait_synced(page)
        page.get_by_test_id("go-offline").click()
        add_todo(page, "Written offline")
        page.get_by_test_id("todo-item").filter(has_text="Synced at once") \
            .get_by_test_id("todo-toggle").check()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=pending-count]').textContent === '2'")
        page.get_by_test_id("go-online").click()
        wait_synced(page)
        on_server = {t["title"]: t["completed"] for t in server_todos(page, second.url)}
        assert on_server == {"Synced at once": True, "Written offline": False}, on_server

        other = phone.new_page()
        log_in(other, second.url, account)
        other.wait_for_function("() => document.querySelectorAll('[data-testid=todo-title]')"
                                ".length === 2")
        wait_synced(other)
        assert sorted(titles(other)) == ["Synced at once", "Written offline"]
        add_todo(other, "From the phone")
        wait_synced(other)
        page.get_by_test_id("sync-button").click()
        page.wait_for_function("() => [...document.querySelectorAll('[data-testid=todo-title]')]"
                               ".some(e => e.textContent === 'From the phone')")
    finally:
        laptop.close()
        phone.close()
