"""Room in localStorage: characters per typical todo and how many todos fit (issue 13 item 4).

Two parts. In CPython, with the very encoder the browser runs (`WebStorageStore` over a
`DictStorage`, which counts characters the way Chromium's quota does: keys and values, one per
UTF-16 unit), the characters one typical todo costs in the compact layout and in the earlier one
(`offsync:<app>:<model>:doc:<id>`, JSON objects), before its first sync, once synced, and once
edited after the sync (its merge base kept), with where they go: document key, entry, change
key. In real Chromium, through the harness page (bench/browser.py): todos created one by one
with `Todo.create` under a user's namespace until localStorage refuses one (`StorageFullError`),
so the count that fits is measured, not computed; the quick mode leaves only `room` characters
free and projects from the measured cost per todo. And the move of an earlier layout's store
(`relayout.py`) at start-up: how long opening takes for `relayout_todos` todos written the old
way, and what they take before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import platform
import secrets
import sys
import tempfile
from pathlib import Path

from .auth import sign_up
from .browser import Harness, chromium
from .server import BenchServer

RESULTS = Path(__file__).resolve().parent / "results"
SECTION_START, SECTION_END = "<!-- capacity:start -->", "<!-- capacity:end -->"

TITLES = ["Buy milk and eggs", "Call the bank about the card", "Book the dentist",
          "Water the plants", "Pay the electricity bill", "Reply to Anna's email",
          "Pick up the dry cleaning", "Renew the passport"]  # 22 characters on average
QUOTA = 5_242_880  # Chromium: 10 MiB of UTF-16 per origin (measured below, not assumed)
TARGET = 30_000
HEADING = "#### Room in localStorage (characters per typical todo, and how many fit)"
FULL = {"limit": 100_000, "room": None, "relayout_todos": 10_000}
QUICK = {"limit": 10_000, "room": 6_000, "relayout_todos": 50}


def title(i: int) -> str:
    return f"{TITLES[i % len(TITLES)]} {i % 100}"


async def _layout_figures(n: int = 1000) -> dict:
    from models import DictStorage, Todo, WebStorageStore
    from models.stores import codec

    user = secrets.token_hex(16)
    storage = DictStorage()
    local = WebStorageStore(storage, app=f"todo:{user}")
    T = Todo.using(local).as_user(user)
    todos = [await T.create(title=title(i)) for i in range(n)]

    def used() -> int:
        return sum(len(k) + len(v) for k, v in storage._items.items())

    def earlier(docs) -> dict:
        old = f"offsync:todo:{user}:"
        key = value = pointer = 0
        for doc in docs:
            k = f"{old}todos:doc:{doc.id}"
            key, value = key + len(k), value + len(codec.encode(doc))
            pointer += len(f"{old}chg:{doc.checkpoint}") + len(f"todos:{doc.id}")
        return {"doc_key": key / n, "entry": value / n, "change_key": pointer / n,
                "total": (key + value + pointer) / n}

    def compact(docs) -> dict:
        key = value = pointer = 0
        for doc in docs:
            k = local.doc_key("todos", doc.id)
            key, value = key + len(k), value + len(storage.getItem(k))
            c = local.change_key(doc.checkpoint)
            pointer += len(c) + len(storage.getItem(c))
        return {"doc_key": key / n, "entry": value / n, "change_key": pointer / n,
                "total": used() / n}

    out: dict = {"n": n, "average_title": sum(len(title(i)) for i in range(n)) / n}
    docs = await local.feed("todos", 0, 10**9)
    out["before_sync"] = {"compact": compact(docs), "earlier": earlier(docs)}
    await local.mark_synced("todos", docs)
    docs = await local.feed("todos", 0, 10**9)
    out["synced"] = {"compact": compact(docs), "earlier": earlier(docs)}
    for todo in todos:
        todo.completed = True
        await todo.save()
    docs = await local.feed("todos", 0, 10**9)
    out["edited_after_sync"] = {"compact": compact(docs), "earlier": earlier(docs)}
    out["fits_by_quota"] = {state: {layout: int(QUOTA // figures[layout]["total"])
                                    for layout in figures}
                            for state, figures in out.items() if isinstance(figures, dict)
                            and "compact" in figures}
    return out


def layout_figures(n: int = 1000) -> dict:
    """In a thread of its own: Playwright's sync API keeps an event loop running in this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _layout_figures(n)).result()


FILL_UNTIL_FULL = """
import secrets
from models import StorageFullError
storage.clear()
base = {base_room}
quota = None
if base is not None:  # fill to the last few characters, then free `base` of them (quick mode)
    size, i = 1 << 20, 0
    while size > 16:
        try:
            storage.setItem(f"filler:{{i}}", "x" * size); i += 1
        except Exception:
            size //= 2
    quota = sum(len(storage.key(j)) + len(storage.getItem(storage.key(j)))
                for j in range(storage.length))
    storage.setItem("filler:0", "x" * ((1 << 20) - base))
titles = {titles!r}
user = secrets.token_hex(16)
store = WebStorageStore(storage, app=f"todo:{{user}}")
Mine = Todo.using(store).as_user(user)
def used():
    n = 0
    for i in range(storage.length):
        k = storage.key(i); n += len(k) + len(storage.getItem(k))
    return n
before = used()
created = 0
t0 = time.perf_counter()
try:
    while created < {limit}:
        await Mine.create(title=f"{{titles[created % len(titles)]}} {{created % 100}}")
        created += 1
    full = False
except StorageFullError:
    full = True
seconds = time.perf_counter() - t0
after = used()
# the server acknowledges every one (what a sync records): the entries keep their size
docs = await store.feed("todos", 0, 10**9)
synced_error = None
try:
    for i in range(0, len(docs), 500):
        await store.mark_synced("todos", docs[i:i + 500])
except StorageFullError as exc:
    synced_error = str(exc)
synced = sum(1 for d in await store.feed("todos", 0, 10**9) if d.base_rev == d.rev)
after_synced = used()
fillers = sum(1 for i in range(storage.length) if storage.key(i).startswith("filler:"))
json.dumps({{"created": created, "full": full, "seconds": seconds, "used_before": before,
            "used_after": after, "fillers": fillers, "quota_when_filled": quota,
            "synced": synced, "used_after_synced": after_synced, "synced_error": synced_error}})
"""

MOVE_EARLIER = """
import secrets
from models.document import Document
from models.changes import ChangeType
from models.revisions import next_revision
from models.stores import codec
storage.clear()
user = secrets.token_hex(16)
old = f"offsync:todo:{{user}}:"
titles = {titles!r}
for i in range({n}):
    id = secrets.token_hex(16)
    stamp = "2026-12-03T08:58:45.446Z"
    data = {{"id": id, "title": f"{{titles[i % len(titles)]}} {{i % 100}}", "completed": False,
            "created_at": stamp, "updated_at": stamp, "order": 1796288325446 + i, "due": None,
            "owner": user}}
    rev = next_revision(None, data)
    doc = Document("todos", id, rev, i + 1, False, data, ChangeType.CREATE, (), rev, data, user)
    storage.setItem(f"{{old}}todos:doc:{{id}}", codec.encode(doc))
    storage.setItem(f"{{old}}chg:{{i + 1}}", f"todos:{{id}}")
storage.setItem(f"{{old}}seq", str({n}))
storage.setItem(f"{{old}}mark:version:todos", "2")
def used():
    n = 0
    for i in range(storage.length):
        k = storage.key(i); n += len(k) + len(storage.getItem(k))
    return n
before = used()
t0 = time.perf_counter()
moved_store = WebStorageStore(storage, app=f"todo:{{user}}")
seconds = time.perf_counter() - t0
from models.stores.migrate import migrate_store
await migrate_store(moved_store, [Todo])  # version 2 todos, as the page's start-up migrates them
count = len(await Todo.using(moved_store).as_user(user).find())
json.dumps({{"n": {n}, "moved": moved_store.moved, "seconds": seconds, "found": count,
            "chars_before": before, "chars_after": used()}})
"""


def in_chromium(browser, base_url: str, session, limit: int, room: int | None,
                relayout_todos: int) -> dict:
    harness = Harness(browser, base_url, session)
    try:
        fill = harness.run(FILL_UNTIL_FULL.format(base_room=room, titles=TITLES, limit=limit))
        created = fill["created"]
        per_todo = (fill["used_after"] - fill["used_before"]) / max(1, created)
        fill["chars_per_todo"] = round(per_todo, 1)
        fill["chars_per_todo_synced"] = round(
            (fill["used_after_synced"] - fill["used_before"]) / max(1, created), 1)
        if room is None:
            fill["quota_chars"] = fill["used_after"] if fill["full"] else None
            fill["fits"] = created if fill["full"] else None
        else:  # the quick mode: a measured cost per todo, projected over the measured quota
            fill["quota_chars"] = fill["quota_when_filled"]
            fill["fits"] = int(fill["quota_chars"] // per_todo)
        fill["projected"] = room is not None
        move = harness.run(MOVE_EARLIER.format(titles=TITLES, n=relayout_todos))
        harness.clear_storage()
    finally:
        harness.close()
    return {"fill": fill, "move": move}


def run(browser, base_url: str, session, limit: int, room: int | None,
        relayout_todos: int) -> dict:
    return {"layout": layout_figures(), "chromium": in_chromium(
        browser, base_url, session, limit, room, relayout_todos)}


def markdown(results: dict) -> str:
    """The section of latest.md, between its markers (empty without the figures)."""
    if "capacity" not in results:
        return ""
    return f"{SECTION_START}\n{_table(results['capacity'])}{SECTION_END}\n"


def include(markdown_text: str, results: dict) -> str:
    """`markdown_text` with its capacity section replaced (or added at the end)."""
    start, end = markdown_text.find(SECTION_START), markdown_text.find(SECTION_END)
    if 0 <= start < end:
        rest = markdown_text[end + len(SECTION_END):].lstrip("\n")
        return markdown_text[:start] + markdown(results) + "\n" + rest
    return markdown_text.rstrip("\n") + "\n\n" + markdown(results)


def _table(cap: dict) -> str:
    layout, fill, move = cap["layout"], cap["chromium"]["fill"], cap["chromium"]["move"]
    lines = [HEADING, "",
             f"A typical todo: a {layout['average_title']:.0f}-character title, a 32-hex id and "
             "owner (CPython, the browser's encoder, "
             f"{layout['n']:,} todos; characters = UTF-16 units, what the quota counts).", "",
             "| state | layout | doc key | entry | change key | total per todo | fit in 5 M |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for state, label in (("before_sync", "created, not yet synced"), ("synced", "synced"),
                         ("edited_after_sync", "edited after a sync (merge base kept)")):
        for kind in ("earlier", "compact"):
            f = layout[state][kind]
            lines.append(f"| {label} | {kind} | {f['doc_key']:.0f} | {f['entry']:.0f} | "
                         f"{f['change_key']:.0f} | {f['total']:.0f} | "
                         f"{layout['fits_by_quota'][state][kind]:,} |")
    how = ("projected from the cost per todo measured in the room left free"
           if fill["projected"] else "created one by one until localStorage refused one")
    lines += ["", f"In Chromium: **{fill['fits']:,} typical todos fit** ({how}; "
              f"{fill['chars_per_todo']:.0f} characters each including the namespace record, "
              f"field shapes and sequence; {fill['created']:,} created in "
              f"{fill['seconds']:.1f} s). Target: {TARGET:,}. Once the server acknowledged "
              f"every one ({fill['synced']:,} synced): {fill['chars_per_todo_synced']:.0f} "
              "characters each.",
              f"Opening a store of {move['n']:,} todos written in the earlier layout moves "
              f"them in {move['seconds']:.2f} s ({move['moved']:,} moved, {move['found']:,} "
              f"read back; {move['chars_before']:,} → {move['chars_after']:,} characters).", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.capacity [--quick]`: this section alone, written to
    `capacity-<date>.json`, `capacity-latest.json` and its section of `latest.md`."""
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="leave 6,000 characters free")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="offsync-capacity-") as tmp:
        server = BenchServer(Path(tmp) / "bench.db").start()
        try:
            with chromium() as browser:
                measured = run(browser, server.url, sign_up(server.url), plan["limit"],
                               plan["room"], plan["relayout_todos"])
        finally:
            server.stop()
    now = dt.datetime.now(dt.UTC)
    document = {"date": now.isoformat(timespec="seconds"), "quick": args.quick, "plan": plan,
                "machine": {"python": platform.python_version(),
                            "platform": platform.platform(), "cpus": os.cpu_count(),
                            "loadavg_before": round(load_before, 2),
                            "loadavg_after": round(os.getloadavg()[0], 2)},
                "results": {"capacity": measured}}
    args.out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2) + "\n"
    (args.out / f"capacity-{now.strftime('%Y-%m-%dT%H%M%SZ')}.json").write_text(text)
    (args.out / "capacity-latest.json").write_text(text)
    latest = args.out / "latest.md"
    latest.write_text(include(latest.read_text() if latest.exists() else "",
                              document["results"]))
    print(markdown(document["results"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
