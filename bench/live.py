"""Live updates, measured on the server side: how long a write takes to reach a change stream,
and how a server fans one write out to many idle streams.

    python -m bench.live [--renders 100] [--writes 100] [--streams 500]

Figures (written to bench/results/live-<date>.json and live-latest.md):
- rendered: a todo added in one browser context until it is rendered in a second context of
  the same user (real Chromium, two pages, no click in the second), p50/p95 over `--renders`
  writes, on SQLite and on PostgreSQL with the two contexts on two different processes;
- latency: a REST write by one connection until the poke arrives on a stream of the same user
  held by another connection, p50/p95 over `--writes` writes, on SQLite (one process) and on
  PostgreSQL with the stream on one process and the writes through another;
- fan-out: `--streams` streams of one user held open on loopback, one write, the time until each
  stream received its poke (p50/p95/max), and the server's resident memory per open stream
  (from /proc, before and after opening them).

It uses the real `offsync serve` (tests/live_server.py), PostgreSQL's throwaway cluster
(tests/postgres_cluster.py) and Chromium (bench/browser.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.live_server import LiveServer
from tests.postgres_cluster import PostgresCluster

from .auth import sign_up

RESULTS = Path(__file__).resolve().parent / "results"
STREAM = "/api/changes/stream"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2),
            "max": round(ordered[-1], 2), "n": len(ordered)}


async def open_stream(client: httpx.AsyncClient, received: asyncio.Queue) -> None:
    """Read `event: change` lines of one stream into `received` as (arrival time, checkpoint)."""
    async with client.stream("GET", STREAM, timeout=None) as response:
        response.raise_for_status()
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "change":
                checkpoint = json.loads(line.split(":", 1)[1])["checkpoint"]
                await received.put((time.perf_counter(), checkpoint))


async def latency(stream_url: str, write_url: str, writes: int) -> dict[str, float]:
    session = sign_up(write_url)
    cookies, headers = session.cookies, session.headers
    async with httpx.AsyncClient(base_url=stream_url, cookies=cookies) as reader, \
            httpx.AsyncClient(base_url=write_url, cookies=cookies, headers=headers) as writer:
        received: asyncio.Queue = asyncio.Queue()
        task = asyncio.create_task(open_stream(reader, received))
        await asyncio.wait_for(received.get(), 30)  # the first event: the current checkpoint
        times = []
        for i in range(writes):
            sent = time.perf_counter()
            response = await writer.post("/api/todos", json={"title": f"live {i}"})
            response.raise_for_status()
            while True:
                arrived, _ = await asyncio.wait_for(received.get(), 30)
                if arrived >= sent:
                    break
            times.append((arrived - sent) * 1000)
        task.cancel()
    return percentiles(times)


async def fan_out(server: LiveServer, streams: int) -> dict[str, object]:
    session = sign_up(server.url)
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    before = rss_kib(server.process.pid) if server.process else 0
    async with httpx.AsyncClient(base_url=server.url, cookies=session.cookies,
                                 headers=session.headers, limits=limits, timeout=60) as client:
        queues = [asyncio.Queue() for _ in range(streams)]
        tasks = [asyncio.create_task(open_stream(client, q)) for q in queues]
        await asyncio.gather(*(asyncio.wait_for(q.get(), 60) for q in queues))  # all connected
        await asyncio.sleep(1)
        held = rss_kib(server.process.pid) if server.process else 0
        sent = time.perf_counter()
        (await client.post("/api/todos", json={"title": "to everyone"})).raise_for_status()
        arrivals = await asyncio.gather(*(asyncio.wait_for(q.get(), 60) for q in queues))
        for task in tasks:
            task.cancel()
    times = [(arrived - sent) * 1000 for arrived, _ in arrivals]
    return {"streams": streams, **percentiles(times),
            "memory_per_stream_kib": round((held - before) / streams, 1)}


ENTER_WATCH = """() => {
    window.enterTimes = {};
    document.addEventListener('keydown', e => {
        const field = e.target;
        if (e.key === 'Enter' && field.dataset && field.dataset.testid === 'new-todo')
            window.enterTimes[field.value.trim()] = Date.now();
    }, true);
}"""

RENDER_WATCH = """() => {
    window.renderTimes = {};
    new MutationObserver(() => {
        for (const e of document.querySelectorAll('[data-testid=todo-title]'))
            if (!(e.textContent in window.renderTimes))
                window.renderTimes[e.textContent] = Date.now();
    }).observe(document, {subtree: true, childList: true, characterData: true});
}"""


def rendered(url_a: str, url_b: str, writes: int) -> dict[str, float]:
    """Add a todo in page A, wait until page B shows it; B never clicks (the poke does it).
    Timed in the pages, on the machine's one clock: from the Enter key's event in A to the
    mutation that put the title in B's DOM (Playwright's own round trips are not counted)."""
    from tests.browser_helpers import add_todo, log_in, wait_synced
    from tests.browser_helpers import sign_up as sign_up_page

    from .browser import chromium

    with chromium() as browser:
        one, two = browser.new_context(), browser.new_context()
        try:
            a, b = one.new_page(), two.new_page()
            account = sign_up_page(a, url_a)
            log_in(b, url_b, account)
            b.wait_for_function("() => document.querySelector('[data-testid=live-status]')"
                                ".textContent === 'live'", timeout=30_000)
            a.evaluate(f"({ENTER_WATCH})()")
            b.evaluate(f"({RENDER_WATCH})()")
            times = []
            for i in range(writes):
                title = f"rendered {i}"
                add_todo(a, title)
                b.wait_for_function("t => t in window.renderTimes", arg=title, timeout=30_000)
                entered = a.evaluate("t => window.enterTimes[t]", title)
                shown = b.evaluate("t => window.renderTimes[t]", title)
                times.append(float(shown - entered))
                a.wait_for_timeout(20)  # the next write is not part of this one's sync
            wait_synced(a)
        finally:
            one.close()
            two.close()
    return percentiles(times)


def run_rendered(url_a: str, url_b: str, writes: int) -> dict[str, float]:
    """`rendered` in a thread of its own: Playwright's sync API wants no running event loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(rendered, url_a, url_b, writes).result()


async def measure(workdir: Path, writes: int, streams: int, renders: int) -> dict[str, object]:
    results: dict[str, object] = {"load_average": os.getloadavg()}
    sqlite = LiveServer(workdir / "live.db").start()
    try:
        results["rendered_sqlite_ms"] = run_rendered(sqlite.url, sqlite.url, renders)
        results["latency_sqlite_ms"] = await latency(sqlite.url, sqlite.url, writes)
        results["fan_out_sqlite_ms"] = await fan_out(sqlite, streams)
    finally:
        sqlite.stop()
    cluster = PostgresCluster().start()
    try:
        url = cluster.create_database()
        first, second = LiveServer(url).start(), LiveServer(url).start()
        try:
            results["rendered_postgres_two_processes_ms"] = run_rendered(first.url, second.url,
                                                                         renders)
            results["latency_postgres_two_processes_ms"] = await latency(first.url, second.url,
                                                                         writes)
        finally:
            first.stop()
            second.stop()
    finally:
        cluster.stop()
    results["load_average_after"] = os.getloadavg()
    return results


def write(results: dict[str, object]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    (RESULTS / f"live-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| live updates | p50 | p95 | max |", "|---|---|---|---|"]
    for key in ("rendered_sqlite_ms", "rendered_postgres_two_processes_ms", "latency_sqlite_ms",
                "latency_postgres_two_processes_ms", "fan_out_sqlite_ms"):
        row = results[key]
        assert isinstance(row, dict)
        lines.append(f"| {key} (n={row['n']}) | {row['p50']} ms | {row['p95']} ms | "
                     f"{row['max']} ms |")
    fan = results["fan_out_sqlite_ms"]
    assert isinstance(fan, dict)
    lines.append("")
    lines.append(f"Server memory per open stream: {fan['memory_per_stream_kib']} KiB "
                 f"({fan['streams']} streams). Load average {results['load_average']} before, "
                 f"{results['load_average_after']} after.")
    path = RESULTS / "live-latest.md"
    path.write_text("\n".join(lines) + "\n")
    (RESULTS / "live-latest.json").write_text(json.dumps(results, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--renders", type=int, default=100)
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(measure(Path(tmp), args.writes, args.streams, args.renders))
    print(write(results).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
