"""The todo page with many todos stored, timed inside the page.

    python -m bench.page [--todos 10000] [--runs 3] [--repeats 20] [--quick]

A fresh account; its todos are written into localStorage through the model's own API
(`Todo.create` in the bench harness page, bench/browser.py), with the app switched offline so the
figures are the page's alone (no sync, no stream). Then, in the todo page itself, each step is
timed with `performance.now()` from the user's action (a key, a click, a hash change) until the
page shows its result (a MutationObserver on the list, no polling):
- reopen: navigation start to `app-ready`, with N todos and with none (another account, same
  run), and their ratio (target ≤ 1.3);
- add, edit, toggle, delete one visible todo (target p95 ≤ 50 ms), switch filter (≤ 100 ms);
- toggle all, twice (all done, all active), and clear completed on all N (≤ 1 s each).
Results go to bench/results/page-<date>.json and page-latest.md, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from .auth import Session, sign_up
from .browser import Harness, wait_ready
from .stats import percentile, summary

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS_MS = {"add": 50, "edit": 50, "toggle": 50, "delete": 50, "filter": 100,
              "toggle_all": 1000, "clear_completed": 1000}
REOPEN_RATIO_TARGET = 1.3

FILL = """
t0 = time.perf_counter()
for i in range({n}):
    await LocalTodo.create(title=f"todo number {{i}}")
json.dumps(time.perf_counter() - t0)
"""

# `offsync:todo:<user id>:sync:state` (web/app/app_state.py): the app-level offline switch
OFFLINE = "localStorage.setItem(key, JSON.stringify({online: false}))"

# Timed steps, run in the todo page. Each returns milliseconds from the action to its result.
STEPS = r"""
(() => {
  const list = () => document.querySelector('[data-testid=todo-list]');
  const byId = id => list().querySelector(`li[data-id="${id}"]`);
  const testid = name => document.querySelector(`[data-testid=${name}]`);
  // resolve when `done()` holds, checked after every change to the page; a step that never
  // finishes (the page refused it, say storage full) fails with what the page says
  const until = done => new Promise((resolve, reject) => {
    if (done()) return resolve();
    const seen = new MutationObserver(() => {
      if (done()) { seen.disconnect(); clearTimeout(timer); resolve(); }
    });
    const timer = setTimeout(() => {
      seen.disconnect();
      reject(new Error('the step did not finish in 300 s; the page says: '
                       + (testid('error-message').textContent || 'nothing')));
    }, 300000);
    seen.observe(document.body, {childList: true, subtree: true, attributes: true,
                                 characterData: true});
  });
  const timed = async (act, done) => {
    const t0 = performance.now();
    act();
    await until(done);
    return performance.now() - t0;
  };
  const titleShown = text => () => [...list().querySelectorAll('[data-testid=todo-title]')]
    .some(e => e.textContent === text);
  const key = (node, key) => node.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
  const left = () => testid('items-left').textContent;
  window.__steps = {
    add: text => timed(() => { const f = testid('new-todo'); f.value = text; key(f, 'Enter'); },
                       titleShown(text)),
    edit: async (index, text) => {
      const row = list().querySelectorAll('[data-testid=todo-item]')[index];
      row.querySelector('[data-testid=todo-title]').dispatchEvent(
        new MouseEvent('dblclick', {bubbles: true}));
      await until(() => testid('todo-edit'));
      const editor = testid('todo-edit');
      editor.value = text;
      return timed(() => key(editor, 'Enter'),
                   () => !testid('todo-edit') && titleShown(text)());
    },
    toggle: index => {
      const row = list().querySelectorAll('[data-testid=todo-item]')[index];
      const id = row.dataset.id, was = row.classList.contains('completed');
      return timed(() => row.querySelector('[data-testid=todo-toggle]').click(),
                   () => byId(id) && byId(id).classList.contains('completed') !== was);
    },
    remove: index => {
      const row = list().querySelectorAll('[data-testid=todo-item]')[index];
      const id = row.dataset.id;
      return timed(() => row.querySelector('[data-testid=todo-delete]').click(), () => !byId(id));
    },
    filter: name => {
      const link = testid(`filter-${name}`);
      let changed = false;
      const watch = new MutationObserver(() => { changed = true; });
      watch.observe(list(), {childList: true});
      return timed(() => { location.hash = name === 'all' ? '#/' : `#/${name}`; },
                   () => changed && link.classList.contains('selected'))
        .finally(() => watch.disconnect());
    },
    toggleAll: expected => timed(() => document.querySelector('label[for=toggle-all]').click(),
                                 () => left() === expected),
    clearCompleted: () => timed(() => testid('clear-completed').click(),
                                () => testid('clear-completed').hidden),
    count: () => list().querySelectorAll('[data-testid=todo-item]').length,
    left: () => left(),
  };
  return true;
})()
"""


def log(message: str) -> None:
    print(f"bench.page: {message}", file=sys.stderr, flush=True)


def fill(browser, base_url: str, session: Session, n: int) -> tuple[object, float]:
    """A context whose localStorage holds `n` todos of `session`'s user, the app offline."""
    harness = Harness(browser, base_url, session)
    harness.page.evaluate(f"key => {OFFLINE}", f"offsync:todo:{session.user_id}:sync:state")
    seconds = harness.run(FILL.format(n=n)) if n else 0.0
    log(f"{n:,} todos stored in {seconds:.1f} s")
    return harness, float(seconds)


def reopen(page, base_url: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        page.goto(base_url + "/")
        times.append(wait_ready(page))
    return times


def measure_page(page, n: int, repeats: int) -> dict[str, list[float]]:
    """Every timed step in the open todo page (`n` todos stored)."""
    page.evaluate(STEPS)
    steps = page.evaluate
    out: dict[str, list[float]] = {name: [] for name in TARGETS_MS}
    log("add, edit, toggle, delete, filter")
    for i in range(repeats):
        out["add"].append(steps("t => window.__steps.add(t)", f"added {i}"))
    for i in range(repeats):
        out["edit"].append(steps("([i, t]) => window.__steps.edit(i, t)", [i % 5, f"edited {i}"]))
    for i in range(repeats):
        out["toggle"].append(steps("i => window.__steps.toggle(i)", i % 5))
    for _ in range(repeats):
        out["delete"].append(steps("i => window.__steps.remove(i)", 0))
    for _ in range(repeats):
        for name in ("active", "completed", "all"):
            out["filter"].append(steps("n => window.__steps.filter(n)", name))
    total = n  # as many added as deleted
    left_all = "0 items left"
    for expected in (left_all, f"{total} item{'' if total == 1 else 's'} left", left_all):
        log(f"toggle all, until {expected!r}")
        out["toggle_all"].append(steps("e => window.__steps.toggleAll(e)", expected))
    log("clear completed")
    out["clear_completed"].append(steps("() => window.__steps.clearCompleted()"))
    assert steps("() => window.__steps.count()") == 0, "clear completed left rows"
    return out


def run(browser, base_url: str, n: int, runs: int, repeats: int) -> dict:
    empty_session, full_session = sign_up(base_url), sign_up(base_url)
    empty, _ = fill(browser, base_url, empty_session, 0)
    full, fill_seconds = fill(browser, base_url, full_session, n)
    try:
        reopen(empty.page, base_url, 1)  # the first visit fills the service worker's cache
        reopen(full.page, base_url, 1)
        reopen_empty, reopen_full = [], []
        log("reopening")
        for _ in range(runs):  # interleaved, so both see the same machine
            reopen_empty += reopen(empty.page, base_url, 1)
            reopen_full += reopen(full.page, base_url, 1)
        ratios = [f / e for f, e in zip(reopen_full, reopen_empty, strict=True)]
        steps: dict[str, list[float]] = {name: [] for name in TARGETS_MS}
        for run_index in range(runs):
            if run_index:  # clear completed emptied the store: fill it again
                full.page.goto(base_url + "/bench/bare.html")
                full.close()
                full, _ = fill(browser, base_url, full_session, n)
                full.page.goto(base_url + "/")
                wait_ready(full.page)
            full.page.wait_for_timeout(1000)  # the page's counts after start-up are done
            log(f"steps, round {run_index + 1} of {runs}")
            for name, values in measure_page(full.page, n, repeats).items():
                steps[name] += values
    finally:
        empty.close()
        full.close()
    out: dict = {"n": n, "runs": runs, "repeats": repeats, "fill_seconds": round(fill_seconds, 2),
                 "reopen_empty_ms": summary(reopen_empty), "reopen_full_ms": summary(reopen_full),
                 "reopen_ratio": {**summary(ratios), "target": REOPEN_RATIO_TARGET}}
    for name, values in steps.items():
        out[name] = {"p50_ms": round(percentile(values, 50), 1),
                     "p95_ms": round(percentile(values, 95), 1),
                     "max_ms": round(max(values), 1), "n": len(values),
                     "target_ms": TARGETS_MS[name],
                     "met": percentile(values, 95) <= TARGETS_MS[name]}
    return out


def markdown(result: dict, load: tuple[float, float]) -> str:
    n = result["n"]
    ratio = result["reopen_ratio"]
    lines = [f"Todo page with {n:,} todos in localStorage (timed in the page; load average "
             f"{load[0]:.2f} before, {load[1]:.2f} after)", "",
             "| step | p50 | p95 | max | samples | target (p95) | |",
             "|---|---|---|---|---|---|---|"]
    lines.append(f"| reopen, {n:,} todos | {result['reopen_full_ms']['median']:,.0f} ms | | "
                 f"{result['reopen_full_ms']['max']:,.0f} ms | {result['reopen_full_ms']['runs']} "
                 "| | |")
    lines.append(f"| reopen, empty store | {result['reopen_empty_ms']['median']:,.0f} ms | | "
                 f"{result['reopen_empty_ms']['max']:,.0f} ms | "
                 f"{result['reopen_empty_ms']['runs']} | | |")
    lines.append(f"| reopen ratio {n:,} / empty | {ratio['median']:.2f}× | | {ratio['max']:.2f}× "
                 f"| {ratio['runs']} | ≤ {ratio['target']}× (median) | "
                 f"{'met' if ratio['median'] <= ratio['target'] else '**missed**'} |")
    for name in TARGETS_MS:
        row = result[name]
        lines.append(f"| {name.replace('_', ' ')} | {row['p50_ms']:,} ms | {row['p95_ms']:,} ms | "
                     f"{row['max_ms']:,} ms | {row['n']} | ≤ {row['target_ms']:,} ms | "
                     f"{'met' if row['met'] else '**missed**'} |")
    return "\n".join(lines) + "\n"


def write(result: dict, load: tuple[float, float], out: Path = RESULTS) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    document = {"date": stamp, "loadavg_before": load[0], "loadavg_after": load[1],
                "results": result}
    (out / f"page-{stamp}.json").write_text(json.dumps(document, indent=2) + "\n")
    (out / "page-latest.json").write_text(json.dumps(document, indent=2) + "\n")
    path = out / "page-latest.md"
    path.write_text(markdown(result, load))
    return path


def main(argv: list[str] | None = None) -> int:
    from .browser import chromium
    from .server import BenchServer

    parser = argparse.ArgumentParser(prog="python -m bench.page", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--todos", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="reopenings, and rounds of steps")
    parser.add_argument("--repeats", type=int, default=20, help="samples of each step a round")
    parser.add_argument("--quick", action="store_true", help="20 todos, 1 run, 3 repeats")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.todos, args.runs, args.repeats = 20, 1, 3
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="offsync-bench-page-") as tmp:
        server = BenchServer(Path(tmp) / "page.db").start()
        try:
            with chromium() as browser:
                result = run(browser, server.url, args.todos, args.runs, args.repeats)
        finally:
            server.stop()
    path = write(result, (before, os.getloadavg()[0]), args.out)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
