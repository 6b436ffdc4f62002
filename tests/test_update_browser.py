"""The update cycle and the installed app, as users meet them: a real server restarted with other
code, real Chromium, the real service worker.

"Other code" is a copy of `web/` with another page title, served through `OFFSYNC_WEB_DIR`: a new
build id (server/build.py), and a change the test can see in the page.
"""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from tests.browser_helpers import BOOT_TIMEOUT, add_todo, open_page, sign_up, titles, wait_synced
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import ROOT, LiveServer

pytestmark = pytest.mark.browser

OLD_TITLE = "offsync · todos"
NEW_TITLE = "offsync · todos (new version)"


@pytest.fixture(scope="module")
def new_web_dir(tmp_path_factory):
    web = tmp_path_factory.mktemp("deploy") / "web"
    shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("__pycache__"))
    index = web / "index.html"
    text = index.read_text()
    assert f"<title>{OLD_TITLE}</title>" in text
    index.write_text(text.replace(f"<title>{OLD_TITLE}</title>", f"<title>{NEW_TITLE}</title>"))
    return web


def controlled(page) -> None:
    """Wait until the service worker holds the build and controls the page."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def running_build(page) -> str:
    page.wait_for_function("() => !!document.documentElement.dataset.build")
    return page.evaluate("document.documentElement.dataset.build")


def reopen(page) -> None:
    page.reload()
    open_page(page, page.url, navigate=False)


def server_build(page, url: str) -> str:
    return page.evaluate("async (url) => (await (await fetch(url)).json()).build",
                         url + "/version.json")


def network_comes_back(context) -> None:
    """The browser loses the network and finds it again: the pages ask for the server's build."""
    context.set_offline(True)
    context.set_offline(False)


def deploy(server: LiveServer, web_dir) -> LiveServer:
    server.stop()
    return LiveServer(server.db_path, port=server.port,
                      env={"OFFSYNC_WEB_DIR": str(web_dir)}).start()


def test_new_build_is_offered_and_runs_only_after_reload(browser, tmp_path, new_web_dir):
    server = LiveServer(tmp_path / "update.db").start()
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_up(page, server.url)
        controlled(page)
        old_build = running_build(page)
        page.get_by_test_id("go-offline").click()
        add_todo(page, "Written under the old version")
        assert page.get_by_test_id("pending-count").inner_text() == "1"

        server = deploy(server, new_web_dir)
        new_build = server_build(page, server.url)
        assert new_build != old_build
        network_comes_back(context)
        prompt = page.get_by_test_id("update-prompt")
        prompt.wait_for(state="visible", timeout=60_000)
        assert "A new version is ready" in prompt.inner_text()
        assert page.title() == OLD_TITLE and running_build(page) == old_build

        context.set_offline(True)  # offline, a reload still runs the old code
        reopen(page)
        assert page.title() == OLD_TITLE and running_build(page) == old_build
        assert titles(page) == ["Written under the old version"]
        page.get_by_test_id("update-prompt").wait_for(state="visible")  # the download is kept
        context.set_offline(False)  # online too, until the user chooses the new version
        reopen(page)
        assert page.title() == OLD_TITLE and running_build(page) == old_build

        page.get_by_test_id("update-prompt").wait_for(state="visible", timeout=60_000)
        page.get_by_test_id("update-reload").click()
        page.wait_for_function("t => document.title === t", arg=NEW_TITLE, timeout=BOOT_TIMEOUT)
        open_page(page, page.url, navigate=False)
        assert running_build(page) == new_build
        assert page.get_by_test_id("update-prompt").count() == 0
        assert titles(page) == ["Written under the old version"]
        assert page.get_by_test_id("pending-count").inner_text() == "1"  # still to be synced

        context.set_offline(True)  # the new build is the one kept offline now
        reopen(page)
        assert page.title() == NEW_TITLE and running_build(page) == new_build
        context.set_offline(False)
        page.get_by_test_id("go-online").click()
        wait_synced(page)
        assert page.get_by_test_id("pending-count").inner_text() == "0"
    finally:
        context.close()
        server.stop()


def test_the_older_tab_is_told_to_reload_and_stops_writing(browser, tmp_path, new_web_dir):
    server = LiveServer(tmp_path / "tabs.db").start()
    context = browser.new_context()
    try:
        one = context.new_page()
        sign_up(one, server.url)
        controlled(one)
        two = context.new_page()
        open_page(two, server.url + "/")
        old_build = running_build(two)
        two.get_by_test_id("new-todo").fill("Typed in tab two, not yet saved")

        server = deploy(server, new_web_dir)
        network_comes_back(context)
        one.get_by_test_id("update-prompt").wait_for(state="visible", timeout=60_000)
        one.get_by_test_id("update-reload").click()
        one.wait_for_function("t => document.title === t", arg=NEW_TITLE, timeout=BOOT_TIMEOUT)
        open_page(one, one.url, navigate=False)

        prompt = two.get_by_test_id("update-prompt")
        two.wait_for_function("() => document.querySelector('[data-testid=update-prompt]')"
                              "?.dataset.reason === 'other-tab'", timeout=60_000)
        assert "updated in another tab" in prompt.inner_text()
        assert running_build(two) == old_build and two.title() == OLD_TITLE
        assert two.evaluate("document.querySelector('main').inert")  # no more writes here
        two.get_by_test_id("update-reload").click()
        two.wait_for_function("t => document.title === t", arg=NEW_TITLE, timeout=BOOT_TIMEOUT)
        open_page(two, two.url, navigate=False)
        assert running_build(two) == running_build(one) != old_build
        # what was typed but not yet saved is still in the field
        assert two.get_by_test_id("new-todo").input_value() == "Typed in tab two, not yet saved"
    finally:
        context.close()
        server.stop()


def test_a_pull_refused_for_old_code_shows_the_prompt(page, live_server):
    sign_up(page, live_server.url)
    running_build(page)
    page.evaluate("window.dispatchEvent(new Event('offsync:update-required'))")
    prompt = page.get_by_test_id("update-prompt")
    prompt.wait_for(state="visible")
    assert prompt.get_attribute("data-reason") == "required"


def test_installable_manifest_icons_and_offline_start_url(browser, live_server, tmp_path):
    # a profile on disk: Chromium never offers to install from an incognito context
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        sign_up(page, live_server.url)
        controlled(page)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"] == live_server.url + "/manifest.webmanifest"
        assert manifest["errors"] == []
        assert page.evaluate("document.querySelector('meta[name=theme-color]').content")
        fields = page.evaluate("async () => (await fetch('/manifest.webmanifest')).json()")
        assert fields["display"] == "standalone" and fields["start_url"] == "/"
        assert fields["name"] and fields["short_name"] and fields["background_color"]
        sizes = {}
        for icon in fields["icons"]:
            sizes[(icon["sizes"], icon.get("purpose", "any"))] = page.evaluate(
                """async (src) => { const image = new Image(); image.src = src;
                   await image.decode(); return [image.naturalWidth, image.naturalHeight]; }""",
                icon["src"])
        assert sizes == {("192x192", "any"): [192, 192], ("512x512", "any"): [512, 512],
                         ("512x512", "maskable"): [512, 512]}
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], errors

        add_todo(page, "Opened from the home screen")
        context.set_offline(True)
        installed = context.new_page()
        installed.goto(live_server.url + fields["start_url"])
        open_page(installed, installed.url, navigate=False)
        assert titles(installed) == ["Opened from the home screen"]
    finally:
        context.close()


def test_compiled_modules_are_kept_for_the_build_and_the_page_opens_with_them(browser,
                                                                             live_server):
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_up(page, live_server.url)
        controlled(page)
        reopen(page)  # controlled from the start: the build's cache is there to keep them in
        build = running_build(page)
        kept = page.evaluate("""async (name) => {
            for (;;) {  // the page keeps them a few seconds after start-up
              const response = await (await caches.open(name)).match('/bytecode.zip');
              if (response) return Array.from(new Uint8Array(await response.arrayBuffer()));
              await new Promise((resolve) => setTimeout(resolve, 250));
            } }""", "offsync-app-" + build)
        with zipfile.ZipFile(io.BytesIO(bytes(kept))) as archive:
            names = set(archive.namelist())
            pyc = archive.read("__pycache__/todo_page.cpython-314.pyc")
        assert {"models/__pycache__/__init__.cpython-314.pyc",
                "__pycache__/update_prompt.cpython-314.pyc"} <= names
        assert int.from_bytes(pyc[4:8], "little") == 0b01  # PEP 552: hash-based, unchecked
        add_todo(page, "Opened with compiled modules")
        reopen(page)
        assert titles(page) == ["Opened with compiled modules"]
    finally:
        context.close()
