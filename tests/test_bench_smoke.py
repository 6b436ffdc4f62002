"""`python -m bench --quick`: the benchmark harness runs end to end (real server, real Chromium,
Locust, tiny sizes) and writes the JSON and Markdown `make bench` publishes. Only the shape is
checked: nothing here depends on a timing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
STATS = {"min", "median", "max", "runs", "values"}


def is_summary(value) -> bool:
    return (isinstance(value, dict) and value.keys() >= STATS and value["runs"] >= 1
            and value["min"] <= value["median"] <= value["max"])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return out, done


def test_it_writes_a_dated_json_the_latest_json_and_the_markdown_table(written):
    out, _ = written
    names = sorted(p.name for p in out.iterdir())
    dated = [n for n in names if re.fullmatch(r"\d{4}-\d\d-\d\dT\d{6}Z\.json", n)]
    assert len(dated) == 1, names
    assert {"latest.json", "latest.md"} <= set(names)
    assert json.loads((out / dated[0]).read_text()) == json.loads((out / "latest.json").read_text())


def test_the_json_has_every_measurement(written):
    out, _ = written
    document = json.loads((out / "latest.json").read_text())
    assert document["quick"] is True
    assert {"date", "plan", "machine", "results", "figures"} <= document.keys()
    r = document["results"]
    n = str(document["plan"]["sizes"][0])
    assert r["accounts"] is True  # the bench signed up like a user
    s = r["startup"]
    assert all(is_summary(s[k][page]) for k in ("cold_ms", "warm_ms") for page in ("app", "bare"))
    assert is_summary(s["warm_ratio"]) and is_summary(s["cold_ratio"])
    assert s["service_worker_controls_warm_app"] is True
    assert s["compiled_modules_kept"] is True
    first, repeat = s["first_visit_bytes"]["app"], s["repeat_visit_bytes"]["app"]
    assert is_summary(first["code"]) and first["code"]["min"] > 0  # the runtime came over
    assert is_summary(repeat["code"]) and is_summary(repeat["api"])
    assert is_summary(r["local_write"]["p50_ms"]) and is_summary(r["local_write"]["p95_ms"])
    push, pull = r["push"][n], r["pull"][n]
    assert push["counts"]["applied"] == int(n) and pull["counts"]["applied"] == int(n)
    assert push["by_endpoint"]["POST /api/todos/sync/apply"] >= 1
    assert pull["by_endpoint"]["GET /api/todos/sync/changes"] >= 1
    for figure in (push, pull, r["incremental"]):
        assert is_summary(figure["seconds"]) and is_summary(figure["requests"])
        assert figure["requests"]["min"] == sum(figure["by_endpoint"].values()) or \
            figure["requests"]["runs"] > 1
    curve, size = r["curve"], document["plan"]["curve_size"]
    assert curve["push"]["counts"]["applied"] == size == curve["pull"]["counts"]["applied"]
    assert (out / "curve.png").stat().st_size > 0
    table = (out / "latest.md").read_text()
    assert f"| push | {size:,} |" in table and f"| pull | {int(n):,} |" in table, table
    scaling = r["server"]["pull_scaling"]
    assert is_summary(scaling["ratio"]) and scaling["large_docs"] > scaling["small_docs"]
    cap = r["capacity"]  # bench/capacity.py: characters per todo and what fits
    for state in ("before_sync", "synced", "edited_after_sync"):
        compact, earlier = cap["layout"][state]["compact"], cap["layout"][state]["earlier"]
        assert 0 < compact["total"] < earlier["total"], (state, compact, earlier)
    fill, move = cap["chromium"]["fill"], cap["chromium"]["move"]
    assert fill["full"] and fill["created"] > 0 and fill["fits"] > fill["created"], fill
    assert fill["chars_per_todo"] > 0 and fill["quota_chars"] > 4_000_000, fill
    assert fill["synced"] == fill["created"] and fill["synced_error"] is None, fill
    assert move["moved"] == move["n"] == move["found"] == document["plan"]["relayout_todos"]
    assert move["chars_after"] < move["chars_before"], move
    assert "#### Room in localStorage" in table and "typical todos fit" in table, table
    for engine in ("offsync", "pouchdb"):  # the side by side (tests/test_sidebyside_smoke.py)
        [side] = r["sidebyside"]["runs"][engine][n]
        assert side["server_count_after_push"] == int(n) == side["browser_count_after_pull"]
    load = r["server"]["concurrent"]
    assert load["generator"] == "locust" and load["failures"] == 0
    assert is_summary(load["requests_per_second"]) and load["requests_per_second"]["min"] > 0
    assert set(load["by_endpoint_last_run"]) == {"POST /api/todos/sync/apply",
                                                 "GET /api/todos/sync/changes"}


def test_the_json_and_the_markdown_have_the_todo_page_figures(written):
    out, _ = written
    document = json.loads((out / "latest.json").read_text())
    page = document["results"]["page"]
    assert page["n"] == document["plan"]["page_todos"]
    assert is_summary(page["reopen_full_ms"]) and is_summary(page["reopen_empty_ms"])
    assert page["reopen_ratio"]["median"] > 0 and page["reopen_ratio"]["target"] == 1.3
    for step in ("add", "edit", "toggle", "delete", "filter", "toggle_all", "clear_completed"):
        row = page[step]
        assert row["n"] >= 1 and 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"], (step, row)
        assert isinstance(row["met"], bool)
    table = (out / "latest.md").read_text()
    assert f"Todo page with {page['n']:,} todos in localStorage" in table
    assert "| toggle all |" in table and "| reopen ratio" in table


def test_the_json_has_the_postgresql_figures(written):
    out, _ = written
    document = json.loads((out / "latest.json").read_text())
    pg = document["results"]["postgres"]
    scaling = pg["pull_scaling"]
    assert is_summary(scaling["ratio"]) and scaling["large_docs"] > scaling["small_docs"]
    # the fast fill copied every document and read a sample back through the store
    for size in ("small", "large"):
        fill = scaling["fill"][size]
        assert fill["copied"] == scaling[f"{size}_docs"] and fill["verified_through_store"] > 0
    for key, endpoints in (("concurrent", {"POST /api/todos/sync/apply",
                                           "GET /api/todos/sync/changes"}),
                           ("writes", {"POST /api/todos/sync/apply"})):
        for workers in ("1", "2"):
            load = pg[key][workers]
            assert load["workers"] == int(workers) and load["failures"] == 0
            assert set(load["by_endpoint_last_run"]) == endpoints
            assert is_summary(load["requests_per_second"]) and is_summary(load["latency_p95_ms"])
            assert {"postgres", "machine"} <= load["cpu_percent"].keys()
        assert pg[key]["ratio_2_to_1"] > 0
        assert {"worker 1", "worker 2"} <= pg[key]["2"]["cpu_percent"].keys()
    assert pg["migration"]["todos"] == document["plan"]["migrate_todos"]
    assert pg["migration"]["seconds"] > 0
    for costs in (pg["request_costs"], document["results"]["server"]["request_costs"]):
        assert costs["ms"]["push"]["wall"] > 0 and costs["ms"]["pull"]["wall"] > 0


def test_the_markdown_table_has_one_row_per_figure_with_its_target(written):
    out, _ = written
    document = json.loads((out / "latest.json").read_text())
    # the cost curve (bench/curve.py) and the side-by-side section (bench/sidebyside.py)
    # follow with tables of their own
    table = (out / "latest.md").read_text().split("<!-- sidebyside:start -->")[0]
    table = table.split("#### Cost per todo")[0]
    assert "| figure | unit | min | median | max | runs | target | met? |" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == len(document["figures"]) + 1
    targeted = [f for f in document["figures"] if f["target"] is not None]
    assert {f["name"] for f in targeted} >= {
        "Start-up, warm ratio todo page / bare Pyodide",
        f"Local write (Todo.create → localStorage), p50 of {document['plan']['writes']:,}",
    }
    for f in targeted:
        assert isinstance(f["met"], bool)
        [row] = [row for row in rows if row.startswith(f"| {f['name']} |")]
        verdict = row.rstrip(" |").rsplit("|", 1)[1].strip()
        assert verdict == ("met" if f["met"] else "**missed**"), row
