"""On the server alone: does pulling a few new changes cost the same in a large database, and how
many sync requests per second one server process answers for 50 concurrent clients.

Both talk HTTP to the real server on loopback with httpx; nothing goes through a browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from models import MemoryStore, Todo
from models.protocol import doc_to_wire

from . import prefill
from .auth import Session, sign_up
from .server import BenchServer
from .stats import summary

PROTOCOL = "1"


def _checkpoint(client: httpx.Client) -> int:
    return int(client.get("/api/checkpoint").json()["checkpoint"])


def _add_changes(client: httpx.Client, count: int) -> None:
    for i in range(count):
        client.post("/api/todos", json={"title": f"new change {i}"}).raise_for_status()


def _timed_pull(client: httpx.Client, since: int, expected: int) -> float:
    t0 = time.perf_counter()
    response = client.get("/api/todos/sync/changes",
                          params={"since": since, "limit": 500, "protocol": PROTOCOL,
                                  "version": Todo.version})
    elapsed = time.perf_counter() - t0
    response.raise_for_status()
    assert len(response.json()["docs"]) == expected, response.text[:200]
    return elapsed


def pull_scaling(small: BenchServer, large: BenchServer, new: int, requests: int,
                 runs: int) -> dict:
    """Median latency of `GET /sync/changes?since=C` returning the `new` changes written after C,
    against both servers, alternating request by request so machine noise hits both alike."""
    clients = {name: sign_up(server.url).http_client(server.url, timeout=60)
               for name, server in (("small", small), ("large", large))}
    try:
        since = {}
        for name, client in clients.items():
            since[name] = _checkpoint(client)
            _add_changes(client, new)
        medians: dict[str, list[float]] = {"small": [], "large": []}
        ratios = []
        for _ in range(runs):
            times: dict[str, list[float]] = {"small": [], "large": []}
            for _ in range(requests):
                for name, client in clients.items():
                    times[name].append(_timed_pull(client, since[name], new) * 1000)
            for name in times:
                medians[name].append(statistics.median(times[name]))
            ratios.append(medians["large"][-1] / medians["small"][-1])
        return {"new_changes": new, "requests_per_run": requests,
                "small_ms": summary(medians["small"]), "large_ms": summary(medians["large"]),
                "ratio": summary(ratios)}
    finally:
        for client in clients.values():
            client.close()


BULK_FILL_FROM = 100_000  # from here the large database is filled by `prefill.bulk_fresh`


def main(argv: list[str]) -> int:
    """`python -m bench.server_scaling [LARGE_N]`: the pull of 10 new changes at 1,000 documents
    vs LARGE_N (default 1,000,000, filled in bulk), alone; writes bench/results/scaling-<date>.json.
    """
    import datetime as dt
    import tempfile

    large_n = int(argv[0]) if argv else 1_000_000
    with tempfile.TemporaryDirectory() as work:
        small_db, large_db = Path(work) / "small.db", Path(work) / "large.db"
        prefill.fresh(small_db, 1000)
        t0 = time.perf_counter()
        (prefill.bulk_fresh if large_n >= BULK_FILL_FROM else prefill.fresh)(large_db, large_n)
        fill_seconds = time.perf_counter() - t0
        small, large = BenchServer(small_db).start(), BenchServer(large_db).start()
        try:
            out = pull_scaling(small, large, 10, 50, 3)
        finally:
            small.stop()
            large.stop()
    out.update(small_docs=1000, large_docs=large_n, fill_seconds=round(fill_seconds, 1),
               load_average=os.getloadavg())
    print(json.dumps(out, indent=1))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (Path(__file__).resolve().parent / "results" / f"scaling-{stamp}.json").write_text(
        json.dumps(out, indent=1))
    return 0


# ---- 50 concurrent clients ----------------------------------------------------------------------

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
DOCS_PER_CLIENT = 400  # per run: more than one client pushes in a run on this machine


def make_docs(count: int, owner: str | None) -> list[dict]:
    """Wire docs as a client would push them: created with the real model in a memory store."""
    async def build() -> list[dict]:
        store = MemoryStore()
        todos = Todo.using(store) if owner is None else Todo.using(store).as_user(owner)
        for i in range(count):
            await todos.create(title=f"load todo {i}")
        return [doc_to_wire(doc) for doc in await store.feed("todos", 0, count)]

    return asyncio.run(build())


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CPUReader = Callable[[], dict[str, float]]


def process_cpu(pid: int) -> CPUReader:
    """The CPU seconds of one process, as the one group `server`."""
    return lambda: {"server": _cpu_seconds(pid)}


class CPUSampler:
    """CPU seconds of some groups of processes (`read()`: {group: seconds}), sampled every 0.1 s
    in a thread, so their use can be read over exactly the window Locust measured (not Locust's
    own start-up and shutdown)."""

    def __init__(self, read: CPUReader) -> None:
        self.read = read
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.read()))
            self._stop.wait(0.1)

    def __enter__(self) -> CPUSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def percent(self, start: float, end: float) -> dict[str, float]:
        """Per group, 100 × CPU seconds per wall second between the samples closest inside
        [start, end]."""
        inside = [s for s in self.samples if start <= s[0] <= end] or self.samples
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        if t1 <= t0:
            return {group: 0.0 for group in c1}
        return {group: 100 * (c1[group] - c0.get(group, 0.0)) / (t1 - t0) for group in c1}


def _percentile_of_histogram(histogram: dict[str, int], p: float) -> float:
    """Locust keeps response times as {rounded ms: count}; the p-th percentile of that."""
    items = sorted((float(k), n) for k, n in histogram.items())
    total = sum(n for _, n in items)
    if not total:
        return 0.0
    rank, seen = total * p / 100, 0
    for value, n in items:
        seen += n
        if seen >= rank:
            return value
    return items[-1][0]


def _locust(url: str, load_file: Path, clients: int, seconds: float, out: Path,
            task: str = "sync") -> dict:
    """One headless Locust run: `clients` users, all started at once, for `seconds`; `task` is
    `sync` (push one change, then pull) or `push` (push only: the writers' figure)."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "--users", str(clients), "--spawn-rate", str(clients * 100), "--reset-stats",
        "--run-time", f"{max(1, round(seconds))}s", "--stop-timeout", "5",
        "--json-file", str(out.with_suffix("")), "--only-summary", "--loglevel", "WARNING",
    ]
    env = {**os.environ, "OFFSYNC_BENCH_LOAD": str(load_file), "OFFSYNC_BENCH_TASK": task}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 120)
    if not out.exists():
        raise RuntimeError(f"locust wrote no stats (exit {done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    entries = json.loads(out.read_text())
    requests = sum(e["num_requests"] for e in entries)
    failures = sum(e["num_failures"] for e in entries)
    first = min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] or first for e in entries)
    histogram: dict[str, int] = {}
    for e in entries:
        for k, n in e["response_times"].items():
            histogram[k] = histogram.get(k, 0) + n
    return {"requests": requests, "failures": failures, "seconds": max(last - first, 1e-9),
            "window": (first, last),
            "p50_ms": _percentile_of_histogram(histogram, 50),
            "p95_ms": _percentile_of_histogram(histogram, 95),
            "by_endpoint": {e["name"]: e["num_requests"] for e in entries}}


Accounts = list[tuple[Session, list[dict]]]


def _load_file(path: Path, url: str, accounts: Accounts, block: int) -> Path:
    with httpx.Client(base_url=url, timeout=30) as http:
        checkpoint = int(http.get("/api/checkpoint", cookies=accounts[0][0].cookies)
                         .json()["checkpoint"])
    part = slice(block * DOCS_PER_CLIENT, (block + 1) * DOCS_PER_CLIENT)
    path.write_text(json.dumps({"version": Todo.version, "accounts": [
        {"cookies": session.cookies, "csrf": session.headers["X-CSRF-Token"],
         "checkpoint": checkpoint, "docs": docs[part]}
        for session, docs in accounts
    ]}))
    return path


def sign_up_clients(url: str, clients: int, blocks: int) -> Accounts:
    """`clients` accounts, each with `blocks` × DOCS_PER_CLIENT wire docs of its own to push (one
    block per run, so no run pushes what another pushed)."""
    accounts = []
    for _ in range(clients):
        session = sign_up(url)
        accounts.append((session, make_docs(DOCS_PER_CLIENT * blocks, session.user_id)))
    return accounts


def load_runs(url: str, accounts: Accounts, workdir: Path, seconds: float, runs: int,
              cpu: CPUReader, *, first_block: int = 0, task: str = "sync") -> dict:
    """`runs` Locust runs of all `accounts` at once against `url` (closed loop), with the CPU use
    of `cpu`'s groups over each measured window."""
    rates, p50s, p95s, failures, by_endpoint = [], [], [], 0, {}
    cpu_use: dict[str, list[float]] = {}
    for run in range(runs):
        name = f"{task}-{first_block + run}"
        load = _load_file(workdir / f"load-{name}.json", url, accounts, first_block + run)
        stats = workdir / f"locust-{name}.json"
        with CPUSampler(cpu) as sampler:
            out = _locust(url, load, len(accounts), seconds, stats, task)
        rates.append(out["requests"] / out["seconds"])
        p50s.append(out["p50_ms"])
        p95s.append(out["p95_ms"])
        for group, value in sampler.percent(*out["window"]).items():
            cpu_use.setdefault(group, []).append(value)
        failures += out["failures"]
        by_endpoint = out["by_endpoint"]
    return {"clients": len(accounts), "seconds_per_run": seconds, "generator": "locust",
            "task": task, "requests_per_second": summary(rates),
            "latency_p50_ms": summary(p50s), "latency_p95_ms": summary(p95s),
            "server_cpu_percent": summary(cpu_use.pop("server")),
            **({"cpu_percent": {g: summary(v) for g, v in cpu_use.items()}} if cpu_use else {}),
            "failures": failures, "by_endpoint_last_run": by_endpoint}


def concurrent(server: BenchServer, workdir: Path, clients: int, seconds: float,
               runs: int) -> dict:
    """Sync requests per second from `clients` signed-in users at once (Locust, closed loop),
    each run with documents no run pushed before."""
    accounts = sign_up_clients(server.url, clients, runs)
    return load_runs(server.url, accounts, workdir, seconds, runs, process_cpu(server.pid))


# ---- CPU per request ----------------------------------------------------------------------------

def request_costs(url: str, cpu: CPUReader, requests: int) -> dict:
    """CPU milliseconds that one push of one todo (`POST /sync/apply`) and one pull of 10 new
    changes (`GET /sync/changes`) cost, per process group, from one client sending them one
    after another (so nothing else runs on the server meanwhile)."""
    session = sign_up(url)
    docs = make_docs(requests + 10, session.user_id)
    out: dict[str, dict[str, float]] = {}
    with session.http_client(url, timeout=30) as client:
        def push(doc: dict) -> None:
            client.post("/api/todos/sync/apply",
                        json={"protocol": 1, "version": Todo.version,
                              "docs": [doc]}).raise_for_status()

        def pull(since: int) -> None:
            response = client.get("/api/todos/sync/changes",
                                  params={"since": since, "limit": 500, "protocol": 1,
                                          "version": Todo.version})
            response.raise_for_status()
            assert len(response.json()["docs"]) == 10, response.text[:200]

        before, t0 = cpu(), time.perf_counter()
        for doc in docs[:requests]:
            push(doc)
        measured = [(before, cpu(), time.perf_counter() - t0)]
        since = int(client.get("/api/checkpoint").json()["checkpoint"])
        for doc in docs[requests:]:
            push(doc)
        before, t0 = cpu(), time.perf_counter()
        for _ in range(requests):
            pull(since)
        measured.append((before, cpu(), time.perf_counter() - t0))
    for kind, (before, after, wall) in zip(("push", "pull"), measured, strict=True):
        out[kind] = {group: round(1000 * (after[group] - before[group]) / requests, 3)
                     for group in ("server", "postgres") if group in after}
        out[kind]["wall"] = round(1000 * wall / requests, 3)
    return {"requests_each": requests, "ms": out}


def run(workdir: Path, small_n: int, large_n: int, new: int, requests: int, runs: int,
        clients: int, load_seconds: float, cost_requests: int = 300) -> dict:
    small_db, large_db = workdir / "scale-small.db", workdir / "scale-large.db"
    t0 = time.perf_counter()
    prefill.fresh(small_db, small_n)
    (prefill.bulk_fresh if large_n >= BULK_FILL_FROM else prefill.fresh)(large_db, large_n)
    fill_seconds = time.perf_counter() - t0
    small, large = BenchServer(small_db), BenchServer(large_db)
    small.start()
    large.start()
    try:
        scaling = pull_scaling(small, large, new, requests, runs)
        scaling.update(small_docs=small_n, large_docs=large_n, fill_seconds=round(fill_seconds, 1))
        small.stop()  # the load runs against the large database, with the machine to itself
        costs = request_costs(large.url, process_cpu(large.pid), cost_requests)
        load = concurrent(large, workdir, clients, load_seconds, runs)
        load["database_docs"] = large_n
    finally:
        small.stop()
        large.stop()
    return {"pull_scaling": scaling, "request_costs": costs, "concurrent": load}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
