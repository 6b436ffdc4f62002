"""A tab closed while the store moves the earlier Web Storage layout into the compact one loses
nothing: the next start, in a new tab, finishes the move.

Real Chromium, real Pyodide, the browser's real `localStorage`. The first tab writes, once per
k, a store in the earlier layout (`offsync:m<k>:...`: synced todos, an unsynced edit with its
merge base, a body sent without an answer, a delete, a conflict, checkpoints, a damaged entry;
`tests/model_cases/relayout.py`), opens it with a storage that dies after k writes
(`DyingStorage`: every later write fails), and is closed. A second tab opens each store again and
finds every document, conflict, mark and checkpoint as they were, the damaged entry carried and
reported, and nothing of the store left in the old namespace but the version mark that sends a
tab on the earlier code to reload. `ws_earlier_layout_move_killed_after_any_write_resumes` checks
every k on CPython and in Pyodide, without the tab closing.
"""

from __future__ import annotations

import json

import pytest

from tests.browser_helpers import run_in_pyodide

pytestmark = pytest.mark.browser

KILLED_AFTER = (0, 1, 2, 5, 9, 14, 20, 30, 45, 1000)

FIRST_TAB = f"""
import json
import js
from model_cases.relayout import fingerprint, legacy_storage, reference_world
from model_cases.storages import DyingStorage, TabClosed
from models import WebStorageStore
from models.stores import relayout

storage = js.window.localStorage
storage.clear()
ref, _ = await reference_world()
relayout.PAGE = 2  # several pages, so the tab can close between two of them
plans = {{}}
for k in {KILLED_AFTER!r}:
    app = f"m{{k}}"
    _, want = await legacy_storage(ref, storage, app)
    try:
        WebStorageStore(DyingStorage(storage, budget=k), app=app)
        died = False
    except TabClosed:
        died = True
    plans[app] = {{"want": fingerprint(want), "died": died}}
json.dumps(plans)
"""

SECOND_TAB = """
import json
import js
from model_cases.relayout import check_moved

storage = js.window.localStorage
found = {}
for app, plan in json.loads(PLANS).items():
    try:
        await check_moved(storage, plan["want"], f"{app}, next start", app=app)
        found[app] = "ok"
    except AssertionError as exc:
        found[app] = str(exc)[:2000]
json.dumps(found)
"""


def _run(context, live_server, code: str) -> object:
    page = context.new_page()
    raw = run_in_pyodide(page, live_server.url, code)
    page.close()  # the tab closes; localStorage stays
    return json.loads(raw)


def test_tab_closed_during_the_move_of_the_earlier_layout(browser, live_server):
    context = browser.new_context()
    try:
        plans = _run(context, live_server, FIRST_TAB)
        found = _run(context, live_server,
                     f"PLANS = {json.dumps(json.dumps(plans))}\n" + SECOND_TAB)
    finally:
        context.close()
    died = [app for app, plan in plans.items() if plan["died"]]
    assert len(died) == len(KILLED_AFTER) - 1 and not plans["m1000"]["died"], plans.keys()
    bad = {app: result for app, result in found.items() if result != "ok"}
    assert not bad, "after the tab closed during the move:\n" + "\n".join(
        f"{app}: {result}" for app, result in bad.items())
