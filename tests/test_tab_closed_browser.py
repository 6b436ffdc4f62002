"""A browser tab closed between the Web Storage writes of one local save loses nothing.

Real Chromium, real Pyodide, the browser's real `localStorage`. The first tab sets up a device
(synced todos, an unsynced edit, an unsynced create, changes waiting on its server) once per save
kind and per k, lets the store's storage die after k writes of the save (`DyingStorage` in
`tests/model_cases/storages.py`: every later write fails, so no undo runs either), and is
closed. A second tab starts from scratch (new page, new Pyodide, a new store over the same
localStorage) and finds, for every save and every k: the save fully done or not at all (each key
exactly as before, or as after an uninterrupted save), no damaged entry, exactly that state's
unsynced changes, and a sync that pushes exactly those and converges.
`ws_tab_closed_between_the_writes_of_a_save` (`tests/model_cases/tab_closed.py`) checks the same
on CPython and, without the tab closing, inside Pyodide.
"""

from __future__ import annotations

import json

import pytest

from tests.browser_helpers import run_in_pyodide
from tests.model_cases.tab_closed import CRASH_OPS

pytestmark = pytest.mark.browser

FIRST_TAB = """
import json
import js
from model_cases.storages import TabClosed, app_state
from model_cases.tab_closed import CRASH_OPS, crash_world, unsynced_revs
from models import DictStorage

storage = js.window.localStorage
storage.clear()
plans = {}
for n, (name, op) in enumerate(CRASH_OPS.items()):
    clean = DictStorage()
    local, remote, T, cp = await crash_world(clean, "clean")
    before, unsynced_before = app_state(clean, local.prefix), await unsynced_revs(local)
    await op(T, local, remote, cp)
    after, unsynced_after = app_state(clean, local.prefix), await unsynced_revs(local)
    died = []
    for k in range(50):
        local, remote, T, cp = await crash_world(storage, f"tab{n}k{k}")
        local.storage.budget = k
        try:
            await op(T, local, remote, cp)
        except TabClosed:
            died.append(k)
        else:
            break
    plans[name] = {"n": n, "before": before, "after": after, "died": died,
                   "unsynced_before": unsynced_before, "unsynced_after": unsynced_after}
json.dumps(plans)
"""

SECOND_TAB = """
import json
import js
from model_cases.storages import app_state
from model_cases.tab_closed import crash_world, unsynced_revs
from models import DictStorage, Todo, WebStorageStore, sync

storage = js.window.localStorage
plans = json.loads(PLANS)
found = []
for name, plan in plans.items():
    for k in plan["died"]:
        app = f"tab{plan['n']}k{k}"
        reopened = WebStorageStore(storage, app=app)  # the next start
        got = app_state(storage, reopened.prefix)
        state = ("before" if got == plan["before"] else "after" if got == plan["after"]
                 else "half")
        unsynced = await unsynced_revs(reopened)
        expected = plan["unsynced_before" if state == "before" else "unsynced_after"]
        # the same server as before the tab closed: its setup replays to the same revisions
        _, remote, _, cp = await crash_world(DictStorage(), "replay")
        result = await sync(reopened, remote, cp, models=[Todo])
        mine = {d.id: d.rev for d in await reopened.find("todos", Todo.query())}
        theirs = {d.id: d.rev for d in await remote.find("todos", Todo.query())}
        found.append({
            "save": name, "k": k, "state": state,
            "diff": {key: got.get(key) for key in set(got) | set(plan["before"])
                     if got.get(key) != plan["before"].get(key)} if state == "half" else {},
            "corrupt": sorted(reopened.corrupt_keys),
            "unsynced_ok": unsynced == expected, "unsynced": unsynced,
            "pushed_ok": sorted(remote.received) == sorted(unsynced.items()),
            "conflicts": len(result.conflicts), "converged": mine == theirs,
        })
json.dumps(found)
"""


def _run(context, live_server, code: str) -> object:
    page = context.new_page()
    raw = run_in_pyodide(page, live_server.url, code)
    page.close()  # the tab closes; localStorage stays
    return json.loads(raw)


def test_tab_closed_between_the_writes_of_one_save(browser, live_server):
    context = browser.new_context()
    try:
        plans = _run(context, live_server, FIRST_TAB)
        found = _run(context, live_server,
                     f"PLANS = {json.dumps(json.dumps(plans))}\n" + SECOND_TAB)
    finally:
        context.close()
    assert set(plans) == set(CRASH_OPS)
    for name, plan in plans.items():
        assert len(plan["died"]) >= 3, f"{name}: the tab closed only after {plan['died']} writes"
    assert len(found) == sum(len(plan["died"]) for plan in plans.values())
    bad = [f for f in found
           if f["state"] == "half" or f["corrupt"] or not f["unsynced_ok"] or not f["pushed_ok"]
           or f["conflicts"] or not f["converged"]]
    assert not bad, "after the tab closed mid-save:\n" + "\n".join(map(str, bad))
