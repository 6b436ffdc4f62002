"""The cost curve: push and pull per todo at each size `make bench` syncs, and at the largest
size that fits in localStorage, so a reader sees whether the cost per document stays flat.

`python -m bench` measures push and pull at its sizes (1,000 and 10,000) in `client`, then one
more size here (`Plan.curve_size`, 40,000: more than fits today, so the bench measures the
largest round size that does, and says so). This module only gathers those runs into one curve:
seconds, milliseconds per todo and requests per size, a Markdown table and a chart
(`bench/results/curve.png`).
"""

from __future__ import annotations

from pathlib import Path

from . import client

CHART = "curve.png"
HEADING = "#### Cost per todo (push and pull in Chromium, medians)"


def measure(browser, server, size: int, runs: int = 1) -> dict:
    """Push and pull at `size` (or the largest that fits), `runs` times each."""
    push, _ = client.push_and_incremental(browser, server, [size], runs)
    pull = client.pull(browser, server, [size], runs)
    return {"push": push[size], "pull": pull[size]}


def points(results: dict) -> list[dict]:
    """One point per measured size and direction, smallest first: the sizes of `results["push"]`
    / `results["pull"]` and the curve's own size."""
    found: dict[tuple[str, int], dict] = {}
    for kind in ("push", "pull"):
        runs = list(results.get(kind, {}).values())
        if "curve" in results:
            runs.append(results["curve"][kind])
        for run in runs:
            n = run["measured_n"]
            seconds = run["seconds"]["median"]
            found[(kind, n)] = {"kind": kind, "n": n, "seconds": seconds,
                                "ms_per_todo": round(seconds * 1000 / n, 4),
                                "requests": run["requests"]["median"],
                                "asked": run["n"], "fits": run["fits"]}
    return sorted(found.values(), key=lambda p: (p["kind"], p["n"]))


def markdown(results: dict) -> str:
    rows = points(results)
    lines = [HEADING, "",
             "| direction | todos | seconds | ms per todo | requests |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for p in rows:
        note = "" if p["fits"] else f" (largest that fits; {p['asked']:,} do not)"
        lines.append(f"| {p['kind']} | {p['n']:,}{note} | {p['seconds']:.2f} | "
                     f"{p['ms_per_todo']:.3f} | {p['requests']:.0f} |")
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path, load: tuple[float, float]) -> Path:
    """Milliseconds per todo against the number of todos, push and pull (medians)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for kind, colour in (("push", "#2f6db5"), ("pull", "#1a7f37")):
        line = [p for p in points(results) if p["kind"] == kind]
        ax.plot([p["n"] for p in line], [p["ms_per_todo"] for p in line], "o-", color=colour,
                label=kind)
        for p in line:
            ax.annotate(f"{p['ms_per_todo']:.2f}", (p["n"], p["ms_per_todo"]),
                        textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("todos synced in one sync (log scale)")
    ax.set_ylabel("milliseconds per todo")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    ax.set_title(f"offsync in Chromium: cost per todo (load average {load[0]}–{load[1]})",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
