"""`python -m bench.batch_size [N ...]`: push and pull of N todos in Chromium at several sync batch
sizes, interleaved in one run (what `DEFAULT_BATCH_SIZE` in models/replication.py is chosen from).

Not part of `make bench`; the same harness and the same code path as bench/client.py, with
`batch_size=` passed to `sync`. Writes `bench/results/batch-size-<date>.json`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

from . import prefill
from .auth import sign_up
from .browser import Harness, chromium
from .client import FILL
from .server import BenchServer

BATCHES = (500, 2000, 5000)

SYNC = """
t0 = time.perf_counter()
result = await sync(local, remote, {{}}, models=[Todo], batch_size={batch})
json.dumps({{"seconds": time.perf_counter() - t0, "push": result.push.counts,
            "pull": result.pull.counts}})
"""


def _timed(harness: Harness, batch: int) -> dict:
    with harness.count_requests() as requests:
        out = harness.run(SYNC.format(batch=batch))
    out["requests"] = sum(requests.values())
    return out


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [1000, 10_000]
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as work:
        server = BenchServer(Path(work) / "batch.db").start()
        try:
            with chromium() as browser:
                for n in sizes:
                    for batch in BATCHES:
                        server.restart(fresh=True)
                        session = sign_up(server.url)
                        harness = Harness(browser, server.url, session)
                        try:
                            harness.clear_storage()
                            harness.run(FILL.format(n=n))
                            push = _timed(harness, batch)
                        finally:
                            harness.close()
                        assert push["push"].get("applied") == n, push
                        server.restart(fresh=True)
                        session = sign_up(server.url)
                        prefill.fill(server.db_path, n, owner=session.user_id)
                        harness = Harness(browser, server.url, session)
                        try:
                            pull = _timed(harness, batch)
                        finally:
                            harness.close()
                        assert pull["pull"].get("applied") == n, pull
                        row = {"n": n, "batch": batch,
                               "push_s": round(push["seconds"], 3),
                               "push_requests": push["requests"],
                               "push_ms_per_doc": round(push["seconds"] * 1000 / n, 3),
                               "pull_s": round(pull["seconds"], 3),
                               "pull_requests": pull["requests"],
                               "pull_ms_per_doc": round(pull["seconds"] * 1000 / n, 3)}
                        print(json.dumps(row), flush=True)
                        results.append(row)
        finally:
            server.stop()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = Path(__file__).resolve().parent / "results" / f"batch-size-{stamp}.json"
    out.write_text(json.dumps({"load_average": os.getloadavg(), "rows": results}, indent=1))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
