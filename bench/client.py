"""In the browser: local writes, push, pull and incremental sync, timed inside the page.

Every figure is the app's own code path: `Todo.using(WebStorageStore(localStorage))` for writes,
and `sync(local, remote, checkpoints, models=[Todo])` with the default batch size for syncs, the
call web/app/sync_controller.py makes. Python's `time.perf_counter()` in Pyodide is the page's
`performance.now()` (Chromium coarsens it to 0.1 ms). HTTP requests are counted from Playwright's
request events. Filling (creating the todos to push, filling the server to pull from) is not
counted.
"""

from __future__ import annotations

import json

from . import prefill
from .auth import Session, sign_up
from .browser import Harness
from .server import BenchServer
from .stats import percentile, summary

CREATE_TIMED = """
times = []
for i in range({n}):
    t0 = time.perf_counter()
    await LocalTodo.create(title=f"local write {{i}}")
    times.append((time.perf_counter() - t0) * 1000)
json.dumps(times)
"""

FILL = """
from models import StorageFullError
t0 = time.perf_counter()
created = 0
try:
    for i in range({n}):
        await LocalTodo.create(title=f"offline todo {{i}}")
        created += 1
except StorageFullError:
    pass  # localStorage is full: report how many fitted
json.dumps({{"seconds": time.perf_counter() - t0, "created": created}})
"""

STORED = """
json.dumps(len([k for k in local.keys() if k.startswith(local.prefix + "todos:")]))
"""

SYNC_TIMED = """
from models import StorageFullError
checkpoints = json.loads({checkpoints!r})
t0 = time.perf_counter()
try:
    result = await sync(local, remote, checkpoints, models=[Todo])
except StorageFullError as exc:
    out = {{"seconds": time.perf_counter() - t0, "storage_full": str(exc)}}
else:
    out = {{"seconds": time.perf_counter() - t0, "checkpoints": result.checkpoints,
           "push": result.push.counts, "pull": result.pull.counts,
           "conflicts": len(result.conflicts)}}
json.dumps(out)
"""

EDIT = """
from models import StorageFullError
todos = await LocalTodo.find(order="order ASC")
chosen = todos[{start}::10][:{count}]
edited = 0
try:
    for todo in chosen:
        todo.completed = not todo.completed
        await todo.save()
        edited += 1
except StorageFullError:
    pass  # localStorage is full: the edits that fitted are pushed, and the report says so
json.dumps(edited)
"""


def _sync(harness: Harness, checkpoints: dict | None = None) -> dict:
    with harness.count_requests() as requests:
        out = harness.run(SYNC_TIMED.format(checkpoints=json.dumps(checkpoints or {})))
    out["requests"] = sum(requests.values())
    out["by_endpoint"] = dict(requests)
    return out


def local_write(browser, server: BenchServer, session: Session, n: int, runs: int) -> dict:
    """p50 and p95 of one `Todo.create` into an empty localStorage, `n` creates per run."""
    harness = Harness(browser, server.url, session)
    p50s, p95s = [], []
    try:
        for _ in range(runs):
            harness.clear_storage()
            times = harness.run(CREATE_TIMED.format(n=n))
            p50s.append(percentile(times, 50))
            p95s.append(percentile(times, 95))
    finally:
        harness.close()
    return {"n": n, "p50_ms": summary(p50s), "p95_ms": summary(p95s)}


def fresh_server(server: BenchServer) -> Session:
    """An empty server (new database), and a new account on it when it has accounts."""
    server.restart(fresh=True)
    return sign_up(server.url)


def _fitting(created: int, headroom: float = 1.0) -> int:
    """The size measured instead of `n` when only `created` todos fit in localStorage: the
    largest round thousand within `headroom` × that (or what fitted, below a thousand)."""
    room = int(created * headroom)
    return room // 1000 * 1000 if room >= 1000 else room


# After a push each stored todo grows by its merge base revision, and an edited one by its merge
# base body: the push measured in place of one that does not fit leaves room for the incremental
# edit of 10 % that follows it.
PUSH_HEADROOM = 0.85


def push_and_incremental(
    browser, server: BenchServer, sizes: list[int], runs: int, edit_fraction: float = 0.1
) -> tuple[dict, dict]:
    """Push: `n` todos created offline (not timed), then one sync into an empty server (fresh
    database and account each run). When `n` todos do not fit in localStorage, that is recorded
    (`fits: false`, how many fitted) and the largest round size that fits is measured instead.
    Incremental: after the largest push, edit `edit_fraction` of the todos (not timed) and sync,
    `runs` times."""
    session = fresh_server(server)
    harness = Harness(browser, server.url, session)
    pushes: dict = {}
    last: dict = {}
    try:
        for n in sizes:
            seconds, requests, fills = [], [], []
            measured, fitted = n, None
            for run in range(runs):
                harness.bind(session)
                harness.clear_storage()
                fill = harness.run(FILL.format(n=measured))
                if fill["created"] < measured:  # localStorage is full
                    fitted = fill["created"]
                    measured = _fitting(fitted, PUSH_HEADROOM)
                    harness.clear_storage()
                    fill = harness.run(FILL.format(n=measured))
                fills.append(fill["seconds"])
                chars = harness.storage_chars()
                last = _sync(harness)
                assert last.get("push", {}).get("applied") == measured, last
                seconds.append(last["seconds"])
                requests.append(last["requests"])
                if not (n == sizes[-1] and run == runs - 1):
                    session = fresh_server(server)  # the last one stays for incremental
            pushes[n] = {"n": n, "measured_n": measured, "fits": fitted is None,
                         "fitted": fitted, "seconds": summary(seconds),
                         "requests": summary(requests), "by_endpoint": last["by_endpoint"],
                         "counts": last["push"], "pull_counts": last["pull"],
                         "fill_seconds": summary(fills), "local_storage_chars": chars,
                         "local_storage_chars_after_sync": harness.storage_chars()}
        # incremental, on top of the last (largest) push: the server and the page agree now
        n = pushes[sizes[-1]]["measured_n"]
        count = max(1, int(n * edit_fraction))
        checkpoints = last["checkpoints"]
        seconds, requests, done = [], [], []
        out: dict = {}
        for run in range(runs):
            edited = harness.run(EDIT.format(start=run % 10, count=count))
            done.append(edited)
            out = _sync(harness, checkpoints)
            assert "storage_full" not in out, out
            checkpoints = out["checkpoints"]
            assert out["push"].get("applied", 0) + out["push"].get("merged", 0) == edited, out
            seconds.append(out["seconds"])
            requests.append(out["requests"])
        incremental = {"n": sizes[-1], "measured_n": n, "edited": min(done),
                       "edits_fit": min(done) == count,
                       "seconds": summary(seconds), "requests": summary(requests),
                       "by_endpoint": out["by_endpoint"], "counts": out["push"],
                       "pull_counts": out["pull"]}
    finally:
        harness.close()
    return pushes, incremental


def pull(browser, server: BenchServer, sizes: list[int], runs: int) -> dict:
    """A fresh browser context (empty localStorage and cache) syncs with a server that holds `n`
    todos of its user (written straight into the database through SQLiteStore, not counted).
    When they do not fit in localStorage, that is recorded and the largest round size that fits
    is measured instead."""
    out: dict = {}
    for n in sizes:
        measured, fitted = n, None
        session = fresh_server(server)
        prefill.fill(server.db_path, n, owner=session.user_id)
        seconds, requests, last, chars = [], [], {}, 0
        while len(seconds) < runs:
            harness = Harness(browser, server.url, session)
            try:
                last = _sync(harness)
                if "storage_full" in last:
                    fitted = harness.run(STORED)
                    measured = _fitting(fitted)
                    session = fresh_server(server)
                    prefill.fill(server.db_path, measured, owner=session.user_id)
                    continue
                assert last["pull"].get("applied") == measured, last
                seconds.append(last["seconds"])
                requests.append(last["requests"])
                chars = harness.storage_chars()
            finally:
                harness.close()
        out[n] = {"n": n, "measured_n": measured, "fits": fitted is None, "fitted": fitted,
                  "seconds": summary(seconds), "requests": summary(requests),
                  "by_endpoint": last["by_endpoint"], "counts": last["pull"],
                  "local_storage_chars": chars}
    return out
