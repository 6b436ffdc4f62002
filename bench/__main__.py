"""`python -m bench [--quick] [--out DIR]`: every measurement, then `<date>.json` and `latest.md`.

Order: the server alone first (no browser running), on SQLite then on PostgreSQL (a throwaway
cluster, bench/postgres.py), then start-up, local writes, push and incremental, pull, the room in
localStorage (bench/capacity.py: characters per todo, how many fit, the layout move), the cost
curve (bench/curve.py: push and pull at the largest size that fits), the todo page with 10,000
todos stored (bench/page.py, timed in the page), and last offsync side by side with PouchDB
(bench/sidebyside.py, its chart beside the results). Run counts
keep the whole run near a quarter of an hour on a 2-core machine (the migration of 100,000 todos
is the longest part).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import capacity, client, curve, page, postgres, report, server_scaling, sidebyside, startup
from .auth import sign_up
from .browser import chromium
from .server import BenchServer

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent.parent / "README.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Plan:
    runs: int = 3
    warm_runs: int = 5
    writes: int = 1000
    sizes: tuple[int, ...] = (1000, 10_000)
    curve_size: int = 40_000  # more than fits in localStorage: the curve ends at what does
    scale_small: int = 1000
    scale_large: int = 200_000
    scale_requests: int = 50
    clients: int = 50
    load_seconds: float = 8.0
    migrate_todos: int = 100_000
    cost_requests: int = 300
    page_todos: int = 10_000  # the todo page with this many stored (bench/page.py)
    page_repeats: int = 10
    capacity_limit: int = 100_000  # todos created until localStorage is full (never reached)
    capacity_room: int | None = None  # None: fill the whole quota; else leave only this free
    relayout_todos: int = 10_000  # todos in the earlier layout moved in at start-up


FULL = Plan()
QUICK = Plan(runs=1, warm_runs=1, writes=20, sizes=(20,), curve_size=40, scale_small=20,
             scale_large=200, scale_requests=5, clients=5, load_seconds=1.0, migrate_todos=100,
             cost_requests=20, page_todos=20, page_repeats=3, capacity_room=6_000,
             relayout_todos=50)


def measure(plan: Plan, workdir: Path, log) -> dict:
    results: dict = {}
    phases: dict[str, float] = {}
    t0 = time.perf_counter()

    def phase(name: str) -> None:
        phases[name] = round(time.perf_counter() - t0 - sum(phases.values()), 1)

    log("server: pull scaling and concurrent clients")
    results["server"] = server_scaling.run(
        workdir, plan.scale_small, plan.scale_large, 10, plan.scale_requests, plan.runs,
        plan.clients, plan.load_seconds, plan.cost_requests,
    )
    phase("server")
    log("server on PostgreSQL: the same, with 1 and 2 processes, and the migration")
    results["postgres"] = postgres.run(
        workdir, workdir / "scale-small.db", workdir / "scale-large.db", new=10,
        requests=plan.scale_requests, runs=plan.runs, clients=plan.clients,
        load_seconds=plan.load_seconds, migrate_todos=plan.migrate_todos,
        cost_requests=plan.cost_requests, log=log)
    phase("postgres")
    server = BenchServer(workdir / "bench.db").start()
    try:
        with chromium() as browser:
            session = sign_up(server.url)
            results["accounts"] = session.user_id is not None
            log("start-up")
            results["startup"] = startup.run(browser, server.url, session, plan.runs,
                                             plan.warm_runs)
            phase("startup")
            log("local writes")
            results["local_write"] = client.local_write(browser, server, session, plan.writes,
                                                        plan.runs)
            phase("local_write")
            log("push and incremental")
            push, incremental = client.push_and_incremental(browser, server, list(plan.sizes),
                                                            plan.runs)
            results["push"] = {str(n): v for n, v in push.items()}
            results["incremental"] = incremental
            phase("push_and_incremental")
            log("pull")
            pulls = client.pull(browser, server, list(plan.sizes), plan.runs)
            results["pull"] = {str(n): v for n, v in pulls.items()}
            phase("pull")
            log("room in localStorage: characters per todo, how many fit, the layout move")
            results["capacity"] = capacity.run(browser, server.url, session,
                                               plan.capacity_limit, plan.capacity_room,
                                               plan.relayout_todos)
            phase("capacity")
            log("the cost curve: push and pull at the largest size that fits")
            results["curve"] = curve.measure(browser, server, plan.curve_size)
            phase("curve")
            log(f"the todo page with {plan.page_todos:,} todos stored")
            load = os.getloadavg()[0]
            results["page"] = page.run(browser, server.url, plan.page_todos, 1,
                                       plan.page_repeats)
            results["page"]["loadavg"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            phase("page")
            log("offsync side by side with PouchDB")
            results["sidebyside"] = sidebyside.run(
                browser, server, workdir,
                sidebyside.Plan(runs=plan.runs, writes=plan.writes, sizes=plan.sizes), log)
            phase("sidebyside")
    finally:
        server.stop()
    results["phase_seconds"] = phases
    results["bench_seconds"] = round(time.perf_counter() - t0, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and one run (the smoke test's mode)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL

    def log(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="offsync-bench-") as tmp:
        measured = measure(plan, Path(tmp), log)
    now = dt.datetime.now(dt.UTC)
    document = {
        "date": now.isoformat(timespec="seconds"),
        "quick": args.quick,
        "plan": plan.__dict__,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    # 1-minute load averages: other work on the machine skews every figure
                    "loadavg_before": round(load_before[0], 2),
                    "loadavg_after": round(os.getloadavg()[0], 2)},
        "results": measured,
        "figures": report.figures(measured, plan),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%dT%H%M%SZ")
    (args.out / f"{stamp}.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / "latest.json").write_text(json.dumps(document, indent=2) + "\n")
    table = (report.markdown(document) + "\n" + curve.markdown(measured) + "\n"
             + capacity.markdown(measured) + "\n#### "
             + page.markdown(measured["page"], tuple(measured["page"]["loadavg"])))
    side = measured["sidebyside"]
    (args.out / "latest.md").write_text(sidebyside.include(table, side))
    sidebyside.chart(side, args.out / sidebyside.CHART)
    curve.chart(measured, args.out / curve.CHART, (document["machine"]["loadavg_before"],
                                                   document["machine"]["loadavg_after"]))
    if args.out.resolve() == RESULTS and not args.quick:
        include_in_readme(table)
    print(sidebyside.include(table, side))
    return 0


def include_in_readme(table: str) -> None:
    """The README shows the published table between its two bench markers."""
    text = README.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return
    README.write_text(text[:start + len(README_START)] + "\n" + table + text[end:])


if __name__ == "__main__":
    sys.exit(main())
