"""`python -m bench.sidebyside --quick`: offsync and PouchDB side by side at N = 20, end to end
(real offsync server, real express-pouchdb on Node, real Chromium running Pyodide and PouchDB's
browser build). Checks that both engines stored and replicated every document, counted on both
servers and in the browser after the pull, and that the table and chart are written. Nothing here
depends on a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
N = 20
ENGINES = ("offsync", "pouchdb")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sidebyside")
    done = subprocess.run([sys.executable, "-m", "bench.sidebyside", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    side = json.loads((out / "sidebyside-latest.json").read_text())["results"]["sidebyside"]
    return out, side


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_pushed_every_todo_to_their_server(written, engine):
    _, side = written
    [run] = side["runs"][engine][str(N)]
    assert run["server_count_after_push"] == N
    assert run["edited"] == N // 10 and run["incremental_pushed"] == N // 10


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_pulled_every_todo_into_a_fresh_browser(written, engine):
    _, side = written
    [run] = side["runs"][engine][str(N)]
    assert run["server_count"] == N
    assert run["browser_count_after_pull"] == N


def test_every_step_has_both_engines_and_the_ratio_of_their_medians(written):
    _, side = written
    assert set(side["steps"]) == {f"{s}:{N}" for s in ("push", "incremental", "pull")} | {
        "local_write"}
    for step in side["steps"].values():
        o, p = step["offsync"]["median"], step["pouchdb"]["median"]
        assert o > 0 and p > 0
        assert step["ratio"] == pytest.approx(o / p, rel=1e-2, abs=1e-3)
        assert step["met"] == (step["ratio"] <= step["target_ratio"])
    assert side["runs"]["pouchdb"][str(N)][0]["adapter"] == "idb"  # PouchDB's IndexedDB adapter
    assert {"loadavg_before", "loadavg_after"} <= side.keys()


def test_it_writes_the_table_into_latest_md_and_the_chart(written):
    out, side = written
    table = (out / "latest.md").read_text()
    assert "<!-- sidebyside:start -->" in table and "<!-- sidebyside:end -->" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(side["steps"]) + 1
    assert (out / "sidebyside.png").read_bytes()[:8] == PNG_SIGNATURE
