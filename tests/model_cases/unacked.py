"""The bodies a push sent but never heard back about (`unacked`): kept only where needed."""

from __future__ import annotations

import json

from models import DictStorage, Todo, WebStorageStore, sync

from .helpers import FakeClock, edit_todo
from .peers import LosingAnswers, seed_todos, todos_on, try_sync
from .registry import case


@case(store_independent=True)
async def ws_unacked_bodies_only_where_a_push_went_unanswered():
    """Only a document whose push got no answer keeps the body it sent, as the fields that differ
    (localStorage is nearly full with 10,000 todos); edits never sent keep nothing; an answer, a
    later sync or the bound drops them."""
    from models.document import UNACKED_LIMIT
    from models.protocol import doc_from_wire, doc_to_wire

    storage = DictStorage()
    local, remote = WebStorageStore(storage, app="c"), LosingAnswers()
    clock = FakeClock()
    T = todos_on(local, clock)
    await seed_todos(local, 3, clock)
    await sync(local, remote, models=[Todo], peer="server")

    def entry(id: str) -> dict:
        return local.entry("todos", id)

    clock.tick()
    for title in ("offline 1", "offline 2"):
        await edit_todo(T, "t0", title=title)
    assert "unacked" not in entry("t0"), "an edit never sent keeps nothing"
    remote.lose_apply_at = 1
    assert await try_sync(local, remote, peer="server") is None
    sent = await local.get("todos", "t0")
    clock.tick()
    await edit_todo(T, "t0", title="after the lost answer")
    kept = entry("t0")["unacked"]
    assert kept == [[sent.rev, {"title": "offline 2", "updated_at": sent.data["updated_at"]}]], kept
    assert (await local.get("todos", "t0")).unacked == ((sent.rev, sent.data),)
    assert "unacked" not in entry("t1") and "unacked" not in entry("t2")
    await sync(local, remote, models=[Todo], peer="server")
    assert set(entry("t0")) == {"rev", "checkpoint", "shape", "data", "history",
                                 "synced"}, entry("t0")
    for i in range(UNACKED_LIMIT + 3):  # answers lost again and again: the oldest bodies go
        clock.tick()
        await edit_todo(T, "t1", title=f"lost {i}")
        remote.lose_apply_at = 1
        assert await try_sync(local, remote, peer="server") is None
    clock.tick()
    await edit_todo(T, "t1", title="last")
    doc = await local.get("todos", "t1")
    assert len(doc.unacked) == UNACKED_LIMIT, len(doc.unacked)
    assert doc.unacked[-1][1]["title"] == f"lost {UNACKED_LIMIT + 2}", "the newest are kept"
    wire = doc_from_wire("todos", json.loads(json.dumps(doc_to_wire(doc))))
    assert wire.unacked == doc.unacked, "unacked bodies do not survive the wire"
    assert "unacked" not in doc_to_wire(await local.get("todos", "t2"))
