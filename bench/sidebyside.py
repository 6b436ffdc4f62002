"""`python -m bench.sidebyside [--quick] [--out DIR]`: offsync and PouchDB 9, same run, same
Chromium, the same steps, interleaved.

For each N: create N todos offline, push them (one sync / one one-shot `PouchDB.replicate`), edit
10 % and push again, then pull N todos into a fresh browser context; and one local write, p50 of
1,000 (`Todo.create` into localStorage / `db.put` into IndexedDB). Every step of either engine
runs in a fresh browser context against an empty server database; offsync and PouchDB alternate
(the one that goes first swaps every run), so load on the machine falls on both alike. The figure
with the target is the ratio offsync / PouchDB of the medians (target ≤ 0.1).

offsync: the code paths of bench/client.py (its in-page snippets). PouchDB: bench/pages/pouchdb.html
(PouchDB's browser build, its default IndexedDB adapter) replicating with express-pouchdb on
Node (bench/pouchdb_server.js, LevelDB on disk, the peer of offsync's SQLite file). Creating the
todos to push and filling the server to pull from are not timed in either.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from tests.live_server import ServerProcess

from . import prefill
from .auth import sign_up
from .browser import CALL_TIMEOUT, Harness, chromium
from .client import CREATE_TIMED, EDIT, FILL, STORED, _sync, fresh_server
from .server import BenchServer
from .stats import percentile, summary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CHART = "sidebyside.png"
SECTION_START, SECTION_END = "<!-- sidebyside:start -->", "<!-- sidebyside:end -->"
TARGET_RATIO = 0.1
EDIT_FRACTION = 0.1
STEPS = ("push", "incremental", "pull")
STEP_NAMES = {"push": "push (created offline, one sync)", "incremental": "push after editing 10 %",
              "pull": "pull into a fresh browser", "local_write": "one local write (p50)"}

CHART_LABELS = {"push": "push\n(created offline)", "incremental": "push after\nediting 10 %",
                "pull": "pull into a\nfresh browser", "local_write": "one local write"}


@dataclass(frozen=True)
class Plan:
    runs: int = 3
    writes: int = 1000
    sizes: tuple[int, ...] = (1000, 10_000)


FULL = Plan()
QUICK = Plan(runs=1, writes=20, sizes=(20,))


# ---------------------------------------------------------------------------------------------
# The PouchDB side: express-pouchdb on Node, and the bench page


class PouchDBServer(ServerProcess):
    """`node bench/pouchdb_server.js` as a child process, its LevelDB directories in `directory`."""

    name = "the PouchDB server"

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = Path(directory)

    def command(self) -> list[str]:
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is missing: the PouchDB peer runs on Node.js (npm ci)")
        if not (ROOT / "node_modules/express-pouchdb").is_dir():
            raise RuntimeError("node_modules lacks express-pouchdb: run `npm ci` (package.json)")
        self.directory.mkdir(parents=True, exist_ok=True)
        return [node, str(ROOT / "bench/pouchdb_server.js"), "--port", str(self.port),
                "--dir", str(self.directory)]

    def start(self, timeout: float = 30.0) -> PouchDBServer:
        super().start(timeout)
        return self

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120)

    def create(self, db: str) -> str:
        with self.client() as c:
            c.put(f"/{db}").raise_for_status()
        return f"{self.url}/{db}"

    def delete(self, db: str) -> None:
        with self.client() as c:
            c.delete(f"/{db}")

    def count(self, db: str) -> int:
        with self.client() as c:
            response = c.get(f"/{db}")
            response.raise_for_status()
            return int(response.json()["doc_count"])

    def fill(self, db: str, n: int) -> None:
        """`n` todos written straight into the server's database (`_bulk_docs`, not timed), as
        bench/prefill.py writes offsync's."""
        now = dt.datetime.now(dt.UTC).isoformat()
        with self.client() as c:
            for start in range(0, n, 1000):
                docs = [{"title": f"server todo {i}", "completed": i % 3 == 0, "created_at": now,
                         "updated_at": now, "order": i, "owner": "bench"}
                        for i in range(start, min(n, start + 1000))]
                c.post(f"/{db}/_bulk_docs", json={"docs": docs}).raise_for_status()


class PouchDBPage:
    """A fresh browser context with bench/pages/pouchdb.html open, counting its requests to the
    PouchDB server."""

    def __init__(self, browser, base_url: str, pouch_url: str) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.set_default_timeout(CALL_TIMEOUT)
        self.pouch_origin = urlparse(pouch_url).netloc
        self.requests: Counter[str] = Counter()
        self.page.on("request", self._on_request)
        self.page.goto(base_url + "/bench/pouchdb.html")
        self.page.wait_for_selector("[data-testid=app-ready]", state="attached",
                                    timeout=60_000)

    def _on_request(self, request) -> None:
        url = urlparse(request.url)
        if url.netloc == self.pouch_origin:
            endpoint = re.sub(r"^/[^/]+", "/{db}", url.path) or "/"
            self.requests[f"{request.method} {endpoint}"] += 1

    def call(self, name: str, *args):
        return self.page.evaluate(f"async (args) => await window.bench.{name}(...args)",
                                  list(args))

    def timed(self, name: str, *args) -> dict:
        self.requests = Counter()
        out = self.call(name, *args)
        out["requests"] = sum(self.requests.values())
        out["by_endpoint"] = dict(self.requests)
        return out

    def close(self) -> None:
        self.context.close()


# ---------------------------------------------------------------------------------------------
# One run of each engine: the same steps


def _in_thread(coroutine):
    """`asyncio.run` in a thread of its own: Playwright's sync API keeps a loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _server_count(path: Path, owner: str) -> int:
    from models import Todo
    from models.stores.sqlite import SQLiteStore

    store = SQLiteStore(str(path))
    try:
        return await Todo.using(store).as_user(owner).count()
    finally:
        store.close()


def offsync_server_count(server: BenchServer, owner: str) -> int:
    return _in_thread(_server_count(server.db_path, owner))


def offsync_push_cycle(browser, server: BenchServer, n: int, run: int) -> dict:
    """Create `n` offline, push; edit 10 %, push (bench/client.py's snippets), fresh context."""
    session = fresh_server(server)
    harness = Harness(browser, server.url, session)
    try:
        fill = harness.run(FILL.format(n=n))
        assert fill["created"] == n, f"offsync: only {fill['created']} of {n} fit in localStorage"
        push = _sync(harness)
        assert push.get("push", {}).get("applied") == n, push
        stored = offsync_server_count(server, session.user_id)
        count = max(1, int(n * EDIT_FRACTION))
        edited = harness.run(EDIT.format(start=run % 10, count=count))
        assert edited == count, f"offsync: {edited} of {count} edits fit in localStorage"
        incremental = _sync(harness, push["checkpoints"])
        assert "storage_full" not in incremental, incremental
        pushed = incremental["push"].get("applied", 0) + incremental["push"].get("merged", 0)
        assert pushed == edited, incremental
    finally:
        harness.close()
    return {"fill_seconds": fill["seconds"], "server_count_after_push": stored,
            "edited": edited, "incremental_pushed": pushed,
            "push": _step(push), "incremental": _step(incremental)}


def offsync_pull(browser, server: BenchServer, n: int) -> dict:
    """A fresh context syncs with a server holding `n` todos of its user (bench/client.py)."""
    session = fresh_server(server)
    prefill.fill(server.db_path, n, owner=session.user_id)
    harness = Harness(browser, server.url, session)
    try:
        pull = _sync(harness)
        assert "storage_full" not in pull, f"offsync: {n} todos do not fit in localStorage"
        assert pull["pull"].get("applied") == n, pull
        stored = harness.run(STORED)
    finally:
        harness.close()
    return {"server_count": offsync_server_count(server, session.user_id),
            "browser_count_after_pull": stored, "pull": _step(pull)}


def offsync_local_write(browser, server: BenchServer, writes: int) -> dict:
    """`writes` timed `Todo.create` into an empty localStorage (bench/client.py's snippet); no
    server involved, so a new account on the running one does."""
    session = sign_up(server.url)
    harness = Harness(browser, server.url, session)
    try:
        harness.clear_storage()
        times = harness.run(CREATE_TIMED.format(n=writes))
    finally:
        harness.close()
    return {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}


def pouchdb_push_cycle(browser, server: BenchServer, pouch: PouchDBServer, n: int,
                       run: int) -> dict:
    db = f"push-{n}-{run}"
    remote = pouch.create(db)
    page = PouchDBPage(browser, server.url, pouch.url)
    try:
        adapter = page.call("open", "todos")
        fill = page.call("fill", n)
        assert fill["stored"] == n, fill
        push = page.timed("push", remote)
        assert push["docs_written"] == n and push["doc_write_failures"] == 0, push
        stored = pouch.count(db)
        count = max(1, int(n * EDIT_FRACTION))
        edited = page.call("edit", run % 10, count)
        assert edited == count, edited
        incremental = page.timed("push", remote)
        assert incremental["docs_written"] == edited, incremental
        page.call("destroy")
    finally:
        page.close()
    pouch.delete(db)
    return {"adapter": adapter, "fill_seconds": fill["seconds"],
            "server_count_after_push": stored, "edited": edited,
            "incremental_pushed": incremental["docs_written"],
            "push": _step(push), "incremental": _step(incremental)}


def pouchdb_pull(browser, server: BenchServer, pouch: PouchDBServer, n: int, run: int) -> dict:
    db = f"pull-{n}-{run}"
    remote = pouch.create(db)
    pouch.fill(db, n)
    page = PouchDBPage(browser, server.url, pouch.url)
    try:
        page.call("open", "todos")
        pull = page.timed("pull", remote)
        assert pull["docs_written"] == n, pull
        stored = page.call("count")
        page.call("destroy")
    finally:
        page.close()
    server_count = pouch.count(db)
    pouch.delete(db)
    return {"server_count": server_count, "browser_count_after_pull": stored,
            "pull": _step(pull)}


def pouchdb_local_write(browser, server: BenchServer, pouch: PouchDBServer, writes: int) -> dict:
    page = PouchDBPage(browser, server.url, pouch.url)
    try:
        page.call("open", "writes")
        times = page.call("puts", writes)
        page.call("destroy")
    finally:
        page.close()
    return {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}


def _step(out: dict) -> dict:
    return {"seconds": out["seconds"], "requests": out["requests"],
            "by_endpoint": out["by_endpoint"]}


# ---------------------------------------------------------------------------------------------
# The whole side-by-side


def _interleaved(run: int, offsync, pouchdb) -> tuple[dict, dict]:
    """Both engines' step, the one going first swapping every run."""
    if run % 2 == 0:
        a = offsync()
        return a, pouchdb()
    b = pouchdb()
    return offsync(), b


def _pair(offsync_values: list[float], pouchdb_values: list[float], unit: str) -> dict:
    o, p = summary(offsync_values), summary(pouchdb_values)
    ratio = o["median"] / p["median"] if p["median"] else float("inf")
    return {"unit": unit, "offsync": o, "pouchdb": p, "ratio": round(ratio, 3),
            "target_ratio": TARGET_RATIO, "met": ratio <= TARGET_RATIO}


def run(browser, server: BenchServer, workdir: Path, plan: Plan, log=None) -> dict:
    """Every step of both engines, `plan.runs` times each, interleaved."""
    log = log or (lambda message: None)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    pouch = PouchDBServer(workdir / "pouchdb").start()
    raw: dict = {"offsync": {}, "pouchdb": {}}
    try:
        for r in range(plan.runs):
            for n in plan.sizes:
                log(f"side-by-side run {r + 1}/{plan.runs}, N = {n:,}: push and incremental")
                o, p = _interleaved(
                    r, lambda n=n, r=r: offsync_push_cycle(browser, server, n, r),
                    lambda n=n, r=r: pouchdb_push_cycle(browser, server, pouch, n, r))
                raw["offsync"].setdefault(str(n), []).append(o)
                raw["pouchdb"].setdefault(str(n), []).append(p)
                log(f"side-by-side run {r + 1}/{plan.runs}, N = {n:,}: pull")
                o, p = _interleaved(r, lambda n=n: offsync_pull(browser, server, n),
                                    lambda n=n, r=r: pouchdb_pull(browser, server, pouch, n, r))
                raw["offsync"][str(n)][-1].update(o)
                raw["pouchdb"][str(n)][-1].update(p)
            log(f"side-by-side run {r + 1}/{plan.runs}: {plan.writes:,} local writes")
            o, p = _interleaved(r, lambda: offsync_local_write(browser, server, plan.writes),
                                lambda: pouchdb_local_write(browser, server, pouch, plan.writes))
            raw["offsync"].setdefault("local_write", []).append(o)
            raw["pouchdb"].setdefault("local_write", []).append(p)
        versions = pouchdb_versions()
    finally:
        pouch.stop()
    steps: dict = {}
    for n in plan.sizes:
        for step in STEPS:
            steps[f"{step}:{n}"] = {
                "step": step, "n": n,
                **_pair([x[step]["seconds"] for x in raw["offsync"][str(n)]],
                        [x[step]["seconds"] for x in raw["pouchdb"][str(n)]], "s"),
                "requests": {engine: raw[engine][str(n)][-1][step]["requests"]
                             for engine in raw},
            }
    steps["local_write"] = {
        "step": "local_write", "n": plan.writes,
        **_pair([x["p50_ms"] for x in raw["offsync"]["local_write"]],
                [x["p50_ms"] for x in raw["pouchdb"]["local_write"]], "ms"),
    }
    return {
        "plan": plan.__dict__,
        "engines": {
            "offsync": "Todo.create → WebStorageStore(localStorage); sync() → Starlette on "
                       "SQLite (bench/server.py)",
            "pouchdb": f"PouchDB {versions['pouchdb']} browser build, adapter "
                       f"{raw['pouchdb'][str(plan.sizes[0])][0]['adapter']}; PouchDB.replicate "
                       f"→ express-pouchdb {versions['express-pouchdb']} on Node "
                       f"{versions['node']}, PouchDB leveldb adapter (LevelDB on disk)",
        },
        "steps": steps,
        "runs": raw,
        "loadavg_before": round(load_before[0], 2),
        "loadavg_after": round(os.getloadavg()[0], 2),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def pouchdb_versions() -> dict:
    def version(package: str) -> str:
        return json.loads((ROOT / "node_modules" / package / "package.json").read_text())["version"]

    node = subprocess.run([shutil.which("node") or "node", "--version"], capture_output=True,
                          text=True).stdout.strip()
    return {"pouchdb": version("pouchdb"), "express-pouchdb": version("express-pouchdb"),
            "node": node}


# ---------------------------------------------------------------------------------------------
# Table and chart


def _num(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _cell(stats: dict, unit: str) -> str:
    return f"{_num(stats['median'])} {unit} ({_num(stats['min'])}–{_num(stats['max'])})"


def markdown(side: dict) -> str:
    runs = side["plan"]["runs"]
    lines = [
        f"Side by side (`python -m bench.sidebyside`), same run, same Chromium, interleaved, a "
        f"fresh browser context per step; medians of {runs} run{'s' if runs != 1 else ''} "
        f"(min–max); load average {side['loadavg_before']} before, {side['loadavg_after']} "
        f"after. offsync: {side['engines']['offsync']}. PouchDB: {side['engines']['pouchdb']}. "
        f"The ratio offsync / PouchDB is the figure with the target.",
        "",
        "| step | N | offsync | PouchDB | ratio | target | met? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in side["steps"].values():
        o, p, unit = s["offsync"], s["pouchdb"], s["unit"]
        lines.append(f"| {STEP_NAMES[s['step']]} | {s['n']:,} | {_cell(o, unit)} | "
                     f"{_cell(p, unit)} | "
                     f"{s['ratio']:.2f}× | ≤ {s['target_ratio']}× | "
                     f"{'met' if s['met'] else '**missed**'} |")
    return "\n".join(lines) + "\n"


def chart(side: dict, path: Path) -> Path:
    """Grouped bars per step, offsync vs PouchDB, one panel per N (seconds) and one for the local
    write (milliseconds), each group labelled with its ratio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = side["plan"]["sizes"]
    panels = [(f"N = {n:,}", [side["steps"][f"{s}:{n}"] for s in STEPS], "seconds")
              for n in sizes]
    panels.append((f"local write\np50 of {side['plan']['writes']:,}",
                   [side["steps"]["local_write"]], "milliseconds"))
    widths = [max(1.5, len(steps)) for _, steps, _ in panels]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6),
                             gridspec_kw={"width_ratios": widths})
    for ax, (title, steps, unit) in zip(axes, panels, strict=True):
        x = range(len(steps))
        off = [s["offsync"]["median"] for s in steps]
        pou = [s["pouchdb"]["median"] for s in steps]
        ax.bar([i - 0.2 for i in x], off, 0.4, label="offsync", color="#2f6db5")
        ax.bar([i + 0.2 for i in x], pou, 0.4, label="PouchDB 9", color="#d9822b")
        top = max(off + pou) or 1
        for i, s in enumerate(steps):
            ax.text(i, max(off[i], pou[i]) + top * 0.03, f"{s['ratio']:.2f}×", ha="center",
                    fontsize=10, fontweight="bold", color="#1a7f37" if s["met"] else "#b42318")
        ax.set_ylim(0, top * 1.18)
        ax.set_xticks(list(x), [CHART_LABELS[s["step"]] for s in steps], fontsize=8)
        ax.set_ylabel(unit)
        ax.set_title(title)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(f"offsync vs PouchDB, same run (medians of {side['plan']['runs']}; ratio "
                 f"offsync / PouchDB, target ≤ {TARGET_RATIO}×; load average "
                 f"{side['loadavg_before']}–{side['loadavg_after']})", fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sidebyside", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="N = 20 and one run (smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL

    def log(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="offsync-sidebyside-") as tmp:
        server = BenchServer(Path(tmp) / "bench.db").start()
        try:
            with chromium() as browser:
                side = run(browser, server, Path(tmp), plan, log)
        finally:
            server.stop()
    now = dt.datetime.now(dt.UTC)
    document = {
        "date": now.isoformat(timespec="seconds"), "quick": args.quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "loadavg_before": side["loadavg_before"],
                    "loadavg_after": side["loadavg_after"]},
        "results": {"sidebyside": side},
    }
    write(document, args.out, now)
    return 0


def section(side: dict) -> str:
    """The side-by-side part of latest.md, between its markers."""
    return (f"{SECTION_START}\n## offsync vs PouchDB\n\n{markdown(side)}\n"
            f"![offsync vs PouchDB]({CHART})\n{SECTION_END}\n")


def include(markdown_text: str, side: dict) -> str:
    """`markdown_text` with its side-by-side section replaced (or added at the end)."""
    start, end = markdown_text.find(SECTION_START), markdown_text.find(SECTION_END)
    if 0 <= start < end:
        rest = markdown_text[end + len(SECTION_END):].lstrip("\n")
        return markdown_text[:start] + section(side) + rest
    return markdown_text.rstrip("\n") + "\n\n" + section(side)


def write(document: dict, out: Path, now: dt.datetime) -> str:
    """`<date>.json`, `sidebyside-latest.json`, `sidebyside.md`, the chart, and the side-by-side
    section of `latest.md` (the rest of that table stays as the last `python -m bench` wrote it)."""
    side = document["results"]["sidebyside"]
    out.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%dT%H%M%SZ")
    text = json.dumps(document, indent=2) + "\n"
    (out / f"{stamp}.json").write_text(text)
    (out / "sidebyside-latest.json").write_text(text)
    table = section(side)
    (out / "sidebyside.md").write_text(table)
    latest = out / "latest.md"
    latest.write_text(include(latest.read_text() if latest.exists() else "", side))
    chart(side, out / CHART)
    print(table)
    return table


if __name__ == "__main__":
    sys.exit(main())
