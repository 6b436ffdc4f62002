"""`python -m bench.profile [N]`: where the time of the missed targets goes (bench/FINDINGS.md).

Not part of `make bench`; run by hand, on a quiet machine. Prints:
- the page: `cProfile` inside Pyodide around one push of N offline todos and one pull of N into a
  fresh context (top functions by cumulative and by own time);
- the server: py-spy (sampling, 200 Hz) on the server process during that push and that pull
  (functions by share of samples, inclusive and own);
- start-up: the browser's performance timeline (resource timing) of a warm todo page next to a
  warm bare-Pyodide page: when the runtime files are requested and loaded, and `app-ready`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from . import prefill
from .auth import sign_up
from .browser import Harness, chromium, new_context, wait_ready
from .client import FILL
from .server import BenchServer

PROFILED = """
import cProfile, io, pstats
from models import StorageFullError
profiler = cProfile.Profile()
checkpoints = {{}}
profiler.enable()
t0 = time.perf_counter()
result = await sync(local, remote, checkpoints, models=[Todo])
elapsed = time.perf_counter() - t0
profiler.disable()
report = {{}}
for key in ("cumulative", "tottime"):
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats(key).print_stats({top})
    report[key] = text.getvalue()
json.dumps({{"seconds": elapsed, "push": result.push.counts, "pull": result.pull.counts,
            "report": report}})
"""

TIMELINE = """
() => ({
  ready: window.__benchReady,
  resources: performance.getEntriesByType('resource').map(e => ({
    name: new URL(e.name).pathname, start: Math.round(e.startTime),
    end: Math.round(e.responseEnd), bytes: e.transferSize,
  })),
})
"""


def _py_spy_binary() -> str:
    return str(Path(sys.executable).with_name("py-spy"))


def print_profiles(out: dict, stop) -> None:
    """The page's cProfile report (cumulative and own time) and the server's py-spy samples."""
    print("### page, cProfile by cumulative time\n" + out["report"]["cumulative"])
    print("### page, cProfile by own time\n" + out["report"]["tottime"])
    print("### server, py-spy\n" + stop())


def _record(pid: int, out: Path):
    """Start py-spy on `pid`; call the returned function to stop it and summarise."""
    process = subprocess.Popen(
        [_py_spy_binary(), "record", "--pid", str(pid), "--rate", "200", "--format", "raw",
         "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )

    def stop(top: int = 25) -> str:
        process.send_signal(2)  # SIGINT: py-spy writes what it has
        process.wait(timeout=60)
        return summarise_collapsed(out, top)

    return stop


def summarise_collapsed(path: Path, top: int = 25) -> str:
    """Collapsed stacks ("a;b;c count") as functions by inclusive and by own share."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        return "(no samples)"
    lines = [f"{total} samples", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    lines += ["own:"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 8000
    top = 22
    with tempfile.TemporaryDirectory(prefix="offsync-profile-") as tmp:
        work = Path(tmp)
        server = BenchServer(work / "profile.db").start()
        try:
            with chromium() as browser:
                session = sign_up(server.url)
                # ---- push
                harness = Harness(browser, server.url, session)
                fill = harness.run(FILL.format(n=n))
                print(f"## push {fill['created']:,} offline todos")
                stop = _record(server.pid, work / "push.txt")
                out = harness.run(PROFILED.format(top=top))
                print(f"sync took {out['seconds']:.2f} s in the page; push {out['push']}")
                print_profiles(out, stop)
                harness.close()
                # ---- pull
                session = sign_up(server.url)
                prefill.fill(server.db_path, n, owner=session.user_id)
                harness = Harness(browser, server.url, session)
                print(f"## pull {n:,} todos into a fresh context")
                stop = _record(server.pid, work / "pull.txt")
                out = harness.run(PROFILED.format(top=top))
                print(f"sync took {out['seconds']:.2f} s in the page; pull {out['pull']}")
                print_profiles(out, stop)
                harness.close()
                # ---- start-up timeline, warm
                print("## warm start-up: performance timeline (ms since navigation start)")
                for path in ("/bench/bare.html", "/"):
                    context = new_context(browser, server.url, session)
                    page = context.new_page()
                    page.goto(server.url + path, wait_until="commit")
                    wait_ready(page)
                    if path == "/":
                        page.evaluate("async () => { await navigator.serviceWorker.ready; }")
                    for _ in range(3):
                        page.reload(wait_until="commit")
                        wait_ready(page)
                    timeline = page.evaluate(TIMELINE)
                    print(f"### {path}: app-ready at {timeline['ready']:.0f} ms")
                    for entry in timeline["resources"]:
                        print(f"  {entry['start']:6d} → {entry['end']:6d}  "
                              f"{entry['bytes']:>9}  {entry['name']}")
                    context.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
