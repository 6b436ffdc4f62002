"""The flat list of figures (each min/median/max, with its target and whether the median met it)
and the Markdown table the README embeds."""

from __future__ import annotations

from typing import Any


def _figure(name: str, unit: str, stats: dict, target: float | None = None,
            better: str = "lower", unfit: bool = False) -> dict[str, Any]:
    """`unfit`: the target's size could not be measured at all, so the target is missed."""
    out = {"name": name, "unit": unit, "min": stats["min"], "median": stats["median"],
           "max": stats["max"], "runs": stats["runs"], "target": target, "met": None}
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
        _figure("Start-up, warm ratio todo page / bare Pyodide", "×", s["warm_ratio"], 1.15),
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
        target = "" if f["target"] is None else f"≤ {_num(f['target'])}"
        met = "" if f["met"] is None else ("met" if f["met"] else "**missed**")
        lines.append(f"| {f['name']} | {f['unit']} | {_num(f['min'])} | {_num(f['median'])} | "
                     f"{_num(f['max'])} | {f['runs']} | {target} | {met} |")
    return "\n".join(lines) + "\n"
