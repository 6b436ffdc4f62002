"""The server figures on PostgreSQL: pull of 10 new changes at a small and a large database, sync
and push requests/s from 50 concurrent clients with 1 and 2 server processes (with the CPU of the
server processes, of PostgreSQL and of the whole machine, the counter row's lock waits and a
py-spy profile of one worker), what one push and one pull cost in CPU, and the migration of a
SQLite deployment with `offsync replicate sqlite:///... postgresql://...`.

The cluster is the tests' throwaway one (`tests.postgres_cluster.PostgresCluster`, reused as is:
a temporary directory, a free port, no fsync), so the figures say what the server and the
database cost on CPU, not what a disk would.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

from models import MODELS
from models.stores.sqlite import SQLiteStore
from tests.live_server import LiveServer
from tests.postgres_cluster import PostgresCluster

from . import prefill, server_scaling
from .server import BENCH_REGISTER_ATTEMPTS

ROOT = Path(__file__).resolve().parent.parent


class PostgresServer(LiveServer):
    """`offsync serve --db postgresql://... --workers N` as a child process."""

    name = "offsync serve on PostgreSQL"

    def __init__(self, url: str, workers: int = 1) -> None:
        super().__init__(Path("unused"), options=(
            "--register-attempts", str(BENCH_REGISTER_ATTEMPTS), "--workers", str(workers)))
        self.database_url = url
        self.workers = workers

    def command(self) -> list[str]:
        return [sys.executable, "-m", "server.cli", "serve", "--db", self.database_url,
                "--host", "127.0.0.1", "--port", str(self.port), *self.options]

    def start(self, timeout: float = 60.0) -> PostgresServer:
        super().start(timeout)
        return self

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: the one process, or uvicorn's workers (the
        supervisor's children, without multiprocessing's resource tracker)."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        children = psutil.Process(self.process.pid).children()
        return [c.pid for c in children
                if "resource_tracker" not in " ".join(c.cmdline())]


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its children that ended (waited for) and those alive."""
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                c = child.cpu_times()
                total += c.user + c.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def _postmaster_pid(cluster: PostgresCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def cpu_reader(server: PostgresServer, cluster: PostgresCluster) -> server_scaling.CPUReader:
    """CPU seconds of `server` (all its processes), of each worker, of PostgreSQL (postmaster
    and backends) and of the whole machine (every core: 100 % per busy core)."""
    postmaster = _postmaster_pid(cluster)
    workers = server.worker_pids()
    supervisor = server.process.pid if server.process else workers[0]

    def read() -> dict[str, float]:
        times = psutil.cpu_times()
        out = {"server": _tree_cpu(supervisor), "postgres": _tree_cpu(postmaster),
               "machine": times.user + times.nice + times.system + times.irq + times.softirq}
        if len(workers) > 1:
            for k, pid in enumerate(workers, 1):
                with contextlib.suppress(psutil.NoSuchProcess):
                    t = psutil.Process(pid).cpu_times()
                    out[f"worker {k}"] = t.user + t.system
        return out

    return read


class LockWaits:
    """Samples `pg_stat_activity` every 0.1 s: how many of the server's connections are running
    a statement, and how many of those wait for a lock (the `seq` counter row every write
    transaction takes first)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'),"
                    " count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')"
                    " FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid() AND datname = current_database()").fetchone()
                self.samples.append((row[0], row[1]))
                self._stop.wait(0.1)

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def result(self) -> dict:
        active = [a for a, _ in self.samples] or [0]
        waiting = [w for _, w in self.samples] or [0]
        return {"samples": len(self.samples),
                "active_statements_mean": round(statistics.mean(active), 2),
                "waiting_for_a_lock_mean": round(statistics.mean(waiting), 2)}


# ---- filling a database fast --------------------------------------------------------------------

async def _copy(sqlite_path: Path, url: str, page: int = 5000) -> int:
    """Every document of the SQLite file into the PostgreSQL database at `url` with COPY, each
    row made by the PostgreSQL store's own `_values` (the rows it writes itself), then the
    counter set to the last checkpoint. The SQLite file is filled by `bench.prefill` (real
    `Todo.create` calls), so both databases hold the same documents."""
    from psycopg import AsyncConnection

    from server.postgres.adapter import COLUMNS, PostgresStore, _values

    await (await PostgresStore.open(url, max_size=1)).close()  # creates the schema
    source = SQLiteStore(str(sqlite_path))
    copied = 0
    try:
        async with await AsyncConnection.connect(url) as conn:
            async with conn.cursor() as cursor, \
                    cursor.copy(f"COPY documents ({COLUMNS}) FROM STDIN") as copy:
                for model in MODELS.values():
                    since = 0
                    while docs := await source.adapter.feed_docs(model.collection, since, page):
                        for doc in docs:
                            await copy.write_row(_values(doc))
                        copied += len(docs)
                        since = docs[-1].checkpoint
            await conn.execute("UPDATE meta SET value = (SELECT coalesce(max(checkpoint), 0)"
                               " FROM documents) WHERE key = 'seq'")
            await conn.execute("ANALYZE documents")
            await conn.commit()
    finally:
        source.close()
    return copied


async def _verify(sqlite_path: Path, url: str, sample: int = 200) -> int:
    """Read a sample back through the PostgreSQL store: every document equal to the SQLite
    store's, and the feed of the whole table in order."""
    from server.postgres.adapter import PostgresStore

    source = SQLiteStore(str(sqlite_path))
    target = await PostgresStore.open(url, max_size=2)
    try:
        checked = 0
        for model in MODELS.values():
            docs = await source.adapter.feed_docs(model.collection, 0, 10**9)
            step = max(1, len(docs) // sample)
            for doc in docs[::step]:
                read = await target.adapter.read_doc(model.collection, doc.id)
                if read != doc:
                    raise RuntimeError(f"{doc.id} reads back as {read!r}, not {doc!r}")
                checked += 1
            fed = await target.adapter.feed_docs(model.collection, 0, 10**9)
            if [d.id for d in fed] != [d.id for d in docs]:
                raise RuntimeError(f"the PostgreSQL feed of {model.collection} differs")
        return checked
    finally:
        await target.close()
        source.close()


def fill_from_sqlite(sqlite_path: Path, url: str) -> dict:
    t0 = time.perf_counter()
    copied = asyncio.run(_copy(sqlite_path, url))
    seconds = time.perf_counter() - t0
    checked = asyncio.run(_verify(sqlite_path, url))
    return {"copied": copied, "seconds": round(seconds, 1), "verified_through_store": checked}


# ---- what caps the processes ----------------------------------------------------------------

def profile(pid: int, seconds: float, out: Path) -> dict:
    """`py-spy record` of one worker for `seconds` (100 samples/s, without pausing it): the
    share of samples in which it ran at all, and the functions it spent them in (self time)."""
    rate = 100
    done = subprocess.run(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
         "--duration", str(max(1, round(seconds))), "--rate", str(rate), "--nonblocking",
         "--format", "raw", "--output", str(out)],
        capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode or not out.exists():
        return {"error": (done.stderr or done.stdout)[-500:]}
    leaves: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        leaves[frames[-1].split(" (")[0] + " (" + _file_of(frames[-1]) + ")"] += n
        areas[_area(frames)] += n
    return {"seconds": seconds, "rate_hz": rate, "samples": total,
            "busy_percent": round(100 * total / (rate * seconds), 1),
            "by_area_percent": {k: round(100 * v / total, 1) for k, v in areas.most_common()},
            "top_self_percent": {k: round(100 * v / total, 1) for k, v in leaves.most_common(12)}}


def _file_of(frame: str) -> str:
    inside = frame.rpartition(" (")[2].rstrip(")")
    return inside.rsplit(":", 1)[0].rsplit("/site-packages/", 1)[-1].rsplit("/", 2)[-1]


AREAS = (("psycopg", "psycopg (driver and pool)"), ("uvicorn", "uvicorn / h11 (HTTP)"),
         ("h11", "uvicorn / h11 (HTTP)"), ("httptools", "uvicorn / h11 (HTTP)"),
         ("starlette", "starlette (routing, requests)"), ("asyncio", "asyncio event loop"),
         ("/models/", "models (sync protocol, documents)"), ("/server/", "server (endpoints)"),
         ("json", "json"))


def _area(frames: list[str]) -> str:
    """The innermost frame's library: where the CPU went."""
    for frame in reversed(frames):
        path = frame.rpartition(" (")[2]
        for needle, area in AREAS:
            if needle in path:
                return area
    return "other"


# ---- the migration ----------------------------------------------------------------------------

def migration(workdir: Path, cluster: PostgresCluster, todos: int) -> dict:
    """`offsync replicate sqlite:///file.db postgresql://...` of `todos` todos (filled by
    `bench.prefill`, untimed), timed from the command's start to its end."""
    path = workdir / "migrate.db"
    prefill.fresh(path, todos)
    url = cluster.create_database("migration")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "server.cli", "replicate", f"sqlite:///{path}",
                           url], cwd=ROOT, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"offsync replicate failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    copied = asyncio.run(_count(url))
    if copied != todos:
        raise RuntimeError(f"replicate left {copied} documents of {todos}:\n{done.stdout[-1000:]}")
    return {"todos": todos, "seconds": round(seconds, 2), "per_second": round(todos / seconds),
            "command": "offsync replicate sqlite:///migrate.db postgresql://...",
            "last_line": done.stdout.strip().splitlines()[-1]}


async def _count(url: str) -> int:
    from psycopg import AsyncConnection

    async with await AsyncConnection.connect(url) as conn:
        return (await (await conn.execute("SELECT count(*) FROM documents")).fetchone())[0]


# ---- all of it ------------------------------------------------------------------------------

def run(workdir: Path, small_db: Path, large_db: Path, *, new: int, requests: int, runs: int,
        clients: int, load_seconds: float, migrate_todos: int, cost_requests: int,
        log=lambda message: None) -> dict:
    """`small_db` and `large_db`: the SQLite files of the SQLite figures, copied as they are."""
    cluster = PostgresCluster().start()
    try:
        small_url, large_url = cluster.create_database("small"), cluster.create_database("large")
        log("postgres: fill")
        fills = {"small": fill_from_sqlite(small_db, small_url),
                 "large": fill_from_sqlite(large_db, large_url)}
        small, large = PostgresServer(small_url).start(), PostgresServer(large_url).start()
        try:
            log("postgres: pull scaling")
            scaling = server_scaling.pull_scaling(small, large, new, requests, runs)
            scaling.update(small_docs=fills["small"]["copied"],
                           large_docs=fills["large"]["copied"], fill=fills)
            small.stop()
            costs = server_scaling.request_costs(large.url, cpu_reader(large, cluster),
                                                 cost_requests)
        finally:
            small.stop()
            large.stop()
        load = _load(workdir, cluster, large_url, clients, runs, load_seconds, log)
        log("postgres: migration")
        moved = migration(workdir, cluster, migrate_todos)
    finally:
        cluster.stop()
    return {"pull_scaling": scaling, "request_costs": costs, **load, "migration": moved,
            "settings": {"max_connections": 300, "pool_per_process": 10, "fsync": "off"}}


def _load(workdir: Path, cluster: PostgresCluster, url: str, clients: int, runs: int,
          seconds: float, log) -> dict:
    """Sync load, then push-only load, with 1 and then 2 server processes on one database; the
    same accounts throughout (their sessions live in the database), fresh docs every run."""
    out: dict = {"concurrent": {}, "writes": {}}
    accounts = None
    block = 0
    for workers in (1, 2):
        server = PostgresServer(url, workers).start()
        try:
            if accounts is None:
                accounts = server_scaling.sign_up_clients(server.url, clients, 4 * runs + 1)
            cpu = cpu_reader(server, cluster)
            for task, key in (("sync", "concurrent"), ("push", "writes")):
                log(f"postgres: {clients} clients, {task}, {workers} process(es)")
                with LockWaits(url) as waits:
                    figure = server_scaling.load_runs(server.url, accounts, workdir, seconds,
                                                      runs, cpu, first_block=block, task=task)
                block += runs
                figure["lock_waits"] = waits.result()
                figure["workers"] = workers
                out[key][str(workers)] = figure
            if workers == 2:
                log("postgres: profile of one worker under the sync load")
                out["profile"] = _profiled(server, accounts, workdir, seconds, block, cpu)
        finally:
            server.stop()
    for key in ("concurrent", "writes"):
        one, two = (out[key][w]["requests_per_second"]["median"] for w in ("1", "2"))
        out[key]["ratio_2_to_1"] = round(two / one, 3) if one else 0.0
    return out


def _profiled(server: PostgresServer, accounts, workdir: Path, seconds: float, block: int,
              cpu: server_scaling.CPUReader) -> dict:
    """One more sync run (not counted in the figures: py-spy takes CPU too) with the first
    worker under py-spy."""
    pid = server.worker_pids()[0]
    result: dict = {}

    def record() -> None:
        time.sleep(2.5)  # Locust's own start-up
        result.update(profile(pid, max(1.0, seconds - 3), workdir / "worker.spy.txt"))

    spy = threading.Thread(target=record)
    spy.start()
    server_scaling.load_runs(server.url, accounts, workdir, seconds, 1, cpu, first_block=block)
    spy.join()
    return result

