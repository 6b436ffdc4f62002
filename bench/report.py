"""The flat list of figures (each min/median/max, with its target and whether the median met it)
and the Markdown table the README embeds."""

from __future__ import annotations

from typing import Any


def _figure(name: str, unit: str, stats: dict, target: float | None = None,
            better: str = "lower", unfit: bool = False) -> dict[str, Any]:
    """`unfit`: the target's size could not be measured at all, so the target is missed."""
    out = {"name": name, "unit": unit, "min": stats["min"], "median": stats["median"],
           "max": stats["max"], "runs": stats["runs"], "target": target, "met": None}
    if better == "higher":
        out["better"] = "higher"
    if target is not None:
        median = stats["median"]
        out["met"] = (not unfit) and (median <= target if better == "lower" else median >= target)
    return out


def figures(r: dict, plan: Any) -> list[dict]:
    out = []
    s = r["startup"]
    out += [
        _figure("Start-up, cold: todo page to app-ready", "ms", s["cold_ms"]["app"]),
        _figure("Start-up, cold: bare Pyodide", "ms", s["cold_ms"]["bare"]),
        _figure("Start-up, warm: todo page (service worker)", "ms", s["warm_ms"]["app"]),
        _figure("Start-up, warm: bare Pyodide (HTTP cache)", "ms", s["warm_ms"]["bare"]),
        _figure("Start-up, warm ratio todo page / bare Pyodide", "×", s["warm_ratio"], 1.05),
    ]
    if "first_visit_bytes" in s:
        first, repeat = s["first_visit_bytes"]["app"], s["repeat_visit_bytes"]["app"]
        out += [
            _figure("Start-up, first visit: todo page code from the network", "bytes",
                    first["code"]),
            _figure("Start-up, first visit: todo page API calls", "bytes", first["api"]),
            _figure("Start-up, repeat visit: todo page code from the network", "bytes",
                    repeat["code"], 0),
            _figure("Start-up, repeat visit: todo page API calls", "bytes", repeat["api"]),
        ]
    w = r["local_write"]
    out += [
        _figure(f"Local write (Todo.create → localStorage), p50 of {w['n']:,}", "ms",
                w["p50_ms"], 1.0),
        _figure(f"Local write, p95 of {w['n']:,}", "ms", w["p95_ms"]),
    ]
    largest = str(max(plan.sizes))
    for kind, verb in (("push", "Push {} offline todos (one sync)"),
                       ("pull", "Pull {} todos into a fresh browser (one sync)")):
        for n, v in r[kind].items():
            target = 1.5 if n == largest and int(n) >= 10_000 else None
            name = verb.format(f"{int(n):,}")
            unfit = not v.get("fits", True)
            if unfit:  # the target's size does not fit: the figure is the largest that does
                name = (verb.format(f"{v['measured_n']:,}") + f" — {int(n):,} do not fit in "
                        f"localStorage (full at {v['fitted']:,})")
            out.append(_figure(name, "s", v["seconds"], target, unfit=unfit))
            out.append(_figure(f"{name.split(' (')[0]}: HTTP requests", "requests",
                               v["requests"]))
    i = r["incremental"]
    measured = i.get("measured_n", i["n"])
    short = "" if i.get("edits_fit", True) else " (localStorage full: 10 % did not fit)"
    out += [_figure(f"Incremental: edit {i['edited']:,} of {measured:,}, sync{short}", "s",
                    i["seconds"]),
            _figure("Incremental: HTTP requests", "requests", i["requests"])]
    if "capacity" in r:
        fill = r["capacity"]["chromium"]["fill"]
        fits = fill["fits"] or 0
        how = "projected" if fill["projected"] else "created until full"
        out.append(_figure(f"Typical todos that fit in Chromium localStorage ({how})", "todos",
                           {"min": fits, "median": fits, "max": fits, "runs": 1}, 30_000,
                           better="higher"))
        out.append(_figure("Characters per typical todo in localStorage (key, entry, change "
                           "key)", "chars", {"min": fill["chars_per_todo"],
                                             "median": fill["chars_per_todo"],
                                             "max": fill["chars_per_todo"], "runs": 1}, 160))
    sc = r["server"]["pull_scaling"]
    out += [
        _figure(f"Server: pull 10 new changes, {sc['small_docs']:,} docs", "ms", sc["small_ms"]),
        _figure(f"Server: pull 10 new changes, {sc['large_docs']:,} docs", "ms", sc["large_ms"]),
        _figure(f"Server: ratio {sc['large_docs']:,} / {sc['small_docs']:,} docs", "×",
                sc["ratio"], 2.0),
    ]
    c = r["server"]["concurrent"]
    out += [
        _figure(f"Server: sync requests/s, {c['clients']} concurrent clients", "req/s",
                c["requests_per_second"]),
        _figure("Server: request latency p95 under that load", "ms", c["latency_p95_ms"]),
        _figure("Server: its CPU use under that load (100 = one core)", "%",
                c["server_cpu_percent"]),
    ]
    if "postgres" in r:
        out += postgres_figures(r["postgres"], c)
    if "sidebyside" in r:
        out += sidebyside_figures(r["sidebyside"])
    return out


SIDE_BY_SIDE = {"push": "push {} created offline", "incremental": "push after editing 10 % of {}",
                "pull": "pull {} into a fresh browser", "local_write": "local write p50 of {}"}


def sidebyside_figures(side: dict) -> list[dict]:
    """The ratio offsync / PouchDB per step, the figure with the target (bench/sidebyside.py)."""
    out = []
    for s in side["steps"].values():
        what = SIDE_BY_SIDE[s["step"]].format(f"{s['n']:,}")
        out.append(_figure(f"Side by side: {what}, offsync / PouchDB", "×",
                           _fixed(s["ratio"], s["offsync"]["runs"]), s["target_ratio"]))
    return out


def _fixed(value: float, runs: int = 1) -> dict:
    return {"min": value, "median": value, "max": value, "runs": runs}


def postgres_figures(pg: dict, sqlite_load: dict) -> list[dict]:
    """Pull scaling, 1 and 2 processes under load next to the SQLite figure, the writers' figure,
    CPU per request, and the migration."""
    sc = pg["pull_scaling"]
    out = [
        _figure(f"PostgreSQL: pull 10 new changes, {sc['small_docs']:,} docs", "ms",
                sc["small_ms"]),
        _figure(f"PostgreSQL: pull 10 new changes, {sc['large_docs']:,} docs", "ms",
                sc["large_ms"]),
        _figure(f"PostgreSQL: ratio {sc['large_docs']:,} / {sc['small_docs']:,} docs", "×",
                sc["ratio"], 2.0),
    ]
    c = pg["concurrent"]
    clients = sqlite_load["clients"]
    out.append(_figure(f"SQLite, 1 process: sync requests/s, {clients} clients (above)", "req/s",
                       sqlite_load["requests_per_second"]))
    for workers in ("1", "2"):
        w = c[workers]
        label = f"PostgreSQL, {workers} process{'es' if workers != '1' else ''}"
        out += [
            _figure(f"{label}: sync requests/s, {clients} clients", "req/s",
                    w["requests_per_second"]),
            _figure(f"{label}: p95 latency", "ms", w["latency_p95_ms"]),
            _figure(f"{label}: CPU of the server process(es) (100 = one core)", "%",
                    w["server_cpu_percent"]),
            _figure(f"{label}: CPU of PostgreSQL", "%", w["cpu_percent"]["postgres"]),
            _figure(f"{label}: CPU of the whole machine (load generator included, of 200)", "%",
                    w["cpu_percent"]["machine"]),
        ]
    runs = c["1"]["requests_per_second"]["runs"]
    out.append(_figure("PostgreSQL: sync requests/s, 2 processes / 1 process", "×",
                       _fixed(c["ratio_2_to_1"], runs), 1.5, better="higher"))
    wr = pg["writes"]
    for workers in ("1", "2"):
        out.append(_figure(f"PostgreSQL, {workers} process(es): pushes/s (push only, "
                           f"{clients} clients)", "req/s", wr[workers]["requests_per_second"]))
    out.append(_figure("PostgreSQL: pushes/s, 2 processes / 1 process", "×",
                       _fixed(wr["ratio_2_to_1"], runs)))
    costs = pg["request_costs"]["ms"]
    for kind in ("push", "pull"):
        out.append(_figure(f"PostgreSQL: CPU per {kind}, server process + PostgreSQL", "ms",
                           _fixed(round(costs[kind]["server"] + costs[kind]["postgres"], 3))))
    m = pg["migration"]
    out.append(_figure(f"Migration: offsync replicate {m['todos']:,} todos SQLite → PostgreSQL",
                       "s", _fixed(m["seconds"])))
    return out


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(document: dict) -> str:
    lines = [
        f"Measured {document['date']} on {document['machine']['cpus']} CPUs "
        f"({document['machine']['platform']}, load average "
        f"{document['machine'].get('loadavg_before', '?')} before, "
        f"{document['machine'].get('loadavg_after', '?')} after), `make bench`"
        + (" (--quick: tiny sizes, not comparable)" if document["quick"] else "")
        + f"; min / median / max of {document['plan']['runs']} runs "
        f"({document['plan']['warm_runs']} for warm start-up). A target is met when the median "
        "is within it.",
        "",
        "| figure | unit | min | median | max | runs | target | met? |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for f in document["figures"]:
        sign = "≥" if f.get("better") == "higher" else "≤"
        target = "" if f["target"] is None else f"{sign} {_num(f['target'])}"
        met = "" if f["met"] is None else ("met" if f["met"] else "**missed**")
        lines.append(f"| {f['name']} | {f['unit']} | {_num(f['min'])} | {_num(f['median'])} | "
                     f"{_num(f['max'])} | {f['runs']} | {target} | {met} |")
    pg = document["results"].get("postgres")
    if pg:
        lines += ["", *postgres_notes(pg)]
    return "\n".join(lines) + "\n"


def postgres_notes(pg: dict) -> list[str]:
    """What the PostgreSQL table rows do not show: lock waits, how the two workers shared the
    CPU, and where a profiled worker spent it."""
    notes = []
    for key, what in (("concurrent", "sync"), ("writes", "push-only")):
        for workers in ("1", "2"):
            waits = pg[key][workers]["lock_waits"]
            notes.append(f"- PostgreSQL {what} load, {workers} process(es): on average "
                         f"{waits['active_statements_mean']} statements running, "
                         f"{waits['waiting_for_a_lock_mean']} of them waiting for a lock (the "
                         f"`seq` counter row), over {waits['samples']} samples.")
    two = pg["concurrent"]["2"]["cpu_percent"]
    shares = [two[k]["median"] for k in sorted(two) if k.startswith("worker ")]
    if shares:
        notes.append("- The 2 processes' CPU under the sync load: "
                     + " and ".join(f"{v:.0f} %" for v in shares) + " of a core.")
    prof = pg.get("profile", {})
    if "by_area_percent" in prof:
        areas = ", ".join(f"{k} {v:.0f} %" for k, v in list(prof["by_area_percent"].items())[:6])
        notes.append(f"- py-spy on one of 2 workers under the sync load ({prof['seconds']:.0f} s): "
                     f"running {prof['busy_percent']:.0f} % of the time; its samples by "
                     f"library: {areas}.")
    m = pg["migration"]
    notes.append(f"- Migration: `{m['command']}`, {m['todos']:,} todos in {m['seconds']:.1f} s "
                 f"({m['per_second']:,}/s).")
    return notes
