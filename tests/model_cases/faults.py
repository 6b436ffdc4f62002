"""Sync under faults: a lost answer never turns a mergeable edit into a conflict."""

from __future__ import annotations

from models import Todo, sync

from .helpers import FakeClock, edit_todo
from .peers import LosingAnswers, assert_converged, make_peer, replicate_todos, todos_on, try_sync
from .registry import case


async def settle_and_check(store, other, remote, expected: dict, what: str) -> None:
    """Sync both clients until nothing moves; no conflict anywhere, both hold `expected`."""
    for _ in range(3):
        for local in (store, other):
            result = await sync(local, remote, models=[Todo])
            assert result.conflicts == [], f"{what}: a false conflict {result.conflicts}"
    for st, name in ((store, "client 1"), (other, "device 2"), (remote, "server")):
        assert await st.conflicts("todos") == [], f"{what}: conflict recorded on {name}"
        for id, fields in expected.items():
            data = (await st.get("todos", id)).data
            got = {k: data[k] for k in fields}
            assert got == fields, f"{what}: {name} holds {got} for {id}, expected {fields}"
    await assert_converged(store, other, what)
    await assert_converged(store, remote, what)


async def _two_devices(store, clock, n: int = 1):
    """Client 1 (the store under test) and device 2, both synced with one server on `n` todos."""
    remote, other = LosingAnswers(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    for i in range(n):
        await A.create(id=f"x{i}", title=f"base {i}", order=i)
    await sync(store, remote, models=[Todo])
    await sync(other, remote, models=[Todo])
    clock.tick()
    return remote, other, A, B


@case
async def fault_lost_push_answer_then_other_field_merges(store):
    """The reported case: client 1 retitles and pushes, the server applies it but the answer is
    lost; device 2 sets `completed` and syncs; client 1 retitles again and syncs: a merge."""
    for device_pulled_first in (False, True):
        clock = FakeClock()
        remote, other, A, B = await _two_devices(store, clock)
        await edit_todo(A, "x0", title="first")
        remote.lose_apply_at = 1
        assert await try_sync(store, remote) is None and remote.lost == 1
        assert (await remote.get("todos", "x0")).data["title"] == "first", "not applied"
        if device_pulled_first:
            await sync(other, remote, models=[Todo])
        await edit_todo(B, "x0", completed=True)
        assert (await sync(other, remote, models=[Todo])).conflicts == []
        await edit_todo(A, "x0", title="second")
        result = await sync(store, remote, models=[Todo])
        assert result.conflicts == [], (
            f"pulled first={device_pulled_first}: edits of different fields conflicted after a "
            f"lost push answer: {result.conflicts}")
        await settle_and_check(store, other, remote, {"x0": {"title": "second",
                                                             "completed": True}},
                               f"pulled first={device_pulled_first}")
        await store.write("todos", "x0", None, base_rev=(await store.get("todos", "x0")).rev)
        await store.purge_tombstones("todos", await store.checkpoint())


@case
async def fault_other_device_edits_several_times_meanwhile(store):
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await edit_todo(A, "x0", title="first")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None
    for fields in ({"completed": True}, {"order": 7}, {"completed": False}, {"completed": True}):
        clock.tick()
        await edit_todo(B, "x0", **fields)
        assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    await edit_todo(A, "x0", title="second")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await settle_and_check(store, other, remote,
                           {"x0": {"title": "second", "completed": True, "order": 7}},
                           "device 2 edited four times")


@case
async def fault_two_lost_push_answers_in_a_row(store):
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await edit_todo(A, "x0", title="first")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None
    await edit_todo(B, "x0", completed=True)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    await edit_todo(A, "x0", title="second")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None and remote.lost == 2
    await edit_todo(B, "x0", order=9)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    await edit_todo(A, "x0", title="third")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await settle_and_check(store, other, remote,
                           {"x0": {"title": "third", "completed": True, "order": 9}},
                           "two lost answers")


@case
async def fault_lost_pull_answer_then_other_field_merges(store):
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await edit_todo(A, "x0", title="first")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await edit_todo(B, "x0", completed=True)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    remote.lose_feed_at = 1  # client 1's next pull page never arrives
    assert await try_sync(store, remote) is None and remote.lost == 1
    clock.tick()
    await edit_todo(A, "x0", title="second")
    assert (await sync(store, remote, models=[Todo])).conflicts == []
    await settle_and_check(store, other, remote, {"x0": {"title": "second", "completed": True}},
                           "lost pull answer")


@case
async def fault_server_dies_after_committing_one_page_of_several(store):
    """A push in pages of two: the second page is committed but its answer never comes."""
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock, n=6)
    for i in range(6):
        await edit_todo(A, f"x{i}", title=f"first {i}")
    remote.lose_apply_at = 2
    assert await try_sync(store, remote, batch_size=2) is None
    assert [(await remote.get("todos", f"x{i}")).data["title"] for i in range(6)] == \
        ["first 0", "first 1", "first 2", "first 3", "base 4", "base 5"], "pages 1-2 applied"
    for i in range(6):
        await edit_todo(B, f"x{i}", completed=True)
    assert (await sync(other, remote, models=[Todo])).conflicts == []
    clock.tick()
    for i in range(6):
        await edit_todo(A, f"x{i}", title=f"second {i}")
    result = await sync(store, remote, models=[Todo], batch_size=2)
    assert result.conflicts == [], f"false conflicts after a lost page: {result.conflicts}"
    await settle_and_check(store, other, remote,
                           {f"x{i}": {"title": f"second {i}", "completed": True}
                            for i in range(6)}, "lost page")


@case
async def fault_lost_create_answer_then_purged_delete_converges(store):
    """Client 1's create reaches the server but the answer is lost; device 2 deletes the todo,
    and the server purges the tombstone. Client 1's retry brings the todo back to the server (it
    cannot know better); device 2 must then see that the server no longer holds its delete and
    send it again, so every store ends with the todo deleted (found by the convergence test)."""
    clock = FakeClock()
    remote, other = LosingAnswers(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="x", title="made here", order=1)
    await A.create(id="y", title="kept", order=2)
    remote.lose_apply_at = 1
    assert await try_sync(store, remote, peer="server") is None
    await sync(other, remote, models=[Todo], peer="server")
    clock.tick()
    await (await B.find_by_id("x")).delete()
    await sync(other, remote, models=[Todo], peer="server")
    await remote.purge_tombstones("todos", await remote.checkpoint())
    for _ in range(3):
        for local in (store, other):
            await sync(local, remote, models=[Todo], peer="server")
    for st in (store, other, remote):
        assert await st.get("todos", "x") is None, f"the deleted todo lives on in {st}"
        assert await st.get("todos", "y") is not None
    await assert_converged(store, other, "after the purge")
    await assert_converged(store, remote, "after the purge")


@case
async def fault_first_pull_after_a_purge_drops_what_was_deleted_there(store):
    """Client 1's push is acknowledged but its pull never gets through (its pull checkpoint is
    still 0); device 2 deletes a todo and the server purges the tombstone. Reading from 0 is never
    refused, yet client 1 holds the todo as synced: its first pull must be a full pass that drops
    it (found by the convergence test)."""
    clock = FakeClock()
    remote, other = LosingAnswers(), make_peer("webstorage")
    A, B = todos_on(store, clock), todos_on(other, clock)
    await A.create(id="x", title="deleted elsewhere", order=1)
    await A.create(id="y", title="kept", order=2)
    remote.lose_feed_at = 1
    assert await try_sync(store, remote, peer="server") is None
    assert (await store.get("todos", "x")).base_rev == (await remote.get("todos", "x")).rev
    await sync(other, remote, models=[Todo], peer="server")
    clock.tick()
    await (await B.find_by_id("x")).delete()
    await sync(other, remote, models=[Todo], peer="server")
    await remote.purge_tombstones("todos", await remote.checkpoint())
    await B.create(id="z", title="after the purge", order=3)  # the first page ends past it
    await sync(other, remote, models=[Todo], peer="server")
    result = await sync(store, remote, models=[Todo], peer="server")
    assert result.pull.resynced and result.pull.count("purged") == 1, result.pull.counts
    assert await store.get("todos", "x") is None, "a todo deleted on the server lives on here"
    await assert_converged(store, other, "after the first pull")
    await assert_converged(store, remote, "after the first pull")


@case
async def fault_pulled_echo_becomes_the_merge_base(store):
    """A pull that brings back the revision this store holds proves the server has it: it becomes
    the merge base (bookkeeping only: no new checkpoint, nothing to push)."""
    clock = FakeClock()
    remote, other, A, B = await _two_devices(store, clock)
    await edit_todo(A, "x0", title="first")
    remote.lose_apply_at = 1
    assert await try_sync(store, remote) is None
    sent = await store.get("todos", "x0")
    assert sent.base_rev != sent.rev, "the store cannot know the server took it"
    checkpoint = await store.checkpoint()
    pulled = await replicate_todos(remote, store)
    assert pulled.counts == {"unchanged": 1}, pulled.counts
    echoed = await store.get("todos", "x0")
    assert (echoed.base_rev, echoed.base_data) == (sent.rev, sent.data), echoed
    assert await store.checkpoint() == checkpoint, "an echo is bookkeeping, not a change"
