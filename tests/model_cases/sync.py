"""`sync()` (push then pull) of two clients through one remote."""

from __future__ import annotations

from models import Todo, stored_conflicts, sync

from .helpers import FakeClock
from .peers import assert_converged, make_peer, todos_on
from .registry import case


@case
async def repl_sync_two_clients_through_a_remote_converges(store):
    clock = FakeClock()
    remote, other = make_peer(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="a1", title="from a", order=1)
    await B.create(id="b1", title="from b", order=2)
    cps_a = (await sync(store, remote)).checkpoints
    cps_b = (await sync(other, remote)).checkpoints
    cps_a = (await sync(store, remote, cps_a)).checkpoints
    await assert_converged(store, other, "after one round")
    clock.tick()
    await (await A.find_by_id("b1")).update(title="a edits b's")
    await (await B.find_by_id("b1")).update(completed=True)
    await (await B.find_by_id("a1")).delete()
    first = await sync(store, remote, cps_a)
    b = await sync(other, remote, cps_b)
    a = await sync(store, remote, first.checkpoints)
    assert first.conflicts == b.conflicts == a.conflicts == [], "no conflicting edits here"
    await sync(other, remote, b.checkpoints)
    await assert_converged(store, other, "clients")
    await assert_converged(store, remote, "client and remote")
    assert (await A.find_by_id("b1")).title == "a edits b's"
    assert (await A.find_by_id("b1")).completed is True
    assert await A.find_by_id("a1") is None


@case
async def repl_sync_conflict_recorded_locally_then_resolved(store):
    clock = FakeClock()
    remote, other = make_peer(), make_peer()
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="x", title="base", order=1)
    cps_a = (await sync(store, remote)).checkpoints
    cps_b = (await sync(other, remote)).checkpoints
    clock.tick()
    await (await A.find_by_id("x")).update(title="from a")
    await (await B.find_by_id("x")).update(title="from b")
    cps_b = (await sync(other, remote, cps_b)).checkpoints
    result = await sync(store, remote, cps_a)
    assert len(result.conflicts) == 1, result
    (stored,) = await stored_conflicts(store, Todo)
    assert stored.models()[0].title == "from b" and stored.models()[1].title == "from a"
    await stored.resolve_manually({"title": "from a and b", "order": 1})
    cps_a = (await sync(store, remote, result.checkpoints)).checkpoints
    await sync(other, remote, cps_b)
    for st in (store, remote, other):
        assert await st.conflicts("todos") == [], f"conflict left on {st}"
        assert (await st.get("todos", "x")).data["title"] == "from a and b"
    await assert_converged(store, other)
    await assert_converged(store, remote)
