"""`replicate()` between two stores (the store under test plays one side; peers are built in
the case): copying, idempotence, atomic batches, deletes, diff, rejected documents."""

from __future__ import annotations

from models import ChangeType, DictStorage, StorageFullError, Todo, WebStorageStore

from .helpers import FakeClock, ids, raises
from .peers import (
    PEER_KINDS,
    assert_converged,
    make_peer,
    replicate_todos,
    seed_todos,
    state,
    todos_on,
)
from .registry import case
from .storages import snapshot, used_chars


@case
async def repl_into_empty_target_copies_everything(store):
    T = todos_on(store)
    made = await seed_todos(store, 5)
    await made[1].update(title="changed")
    await made[2].delete()
    for kind in PEER_KINDS:
        target = make_peer(kind)
        result = await replicate_todos(store, target)
        assert result.conflicts == [] and result.rejected == [], f"{kind}: {result}"
        assert result.count("applied") == 5, f"{kind}: counts {result.counts}"
        assert result.checkpoint == await store.checkpoint(), "checkpoint must be the source's"
        assert await state(target) == await state(store), f"{kind}: target differs from source"
        tomb = await target.get_any("todos", made[2].id)
        assert tomb is not None and tomb.deleted, f"{kind}: the tombstone did not replicate"
    # and the other way round: the store under test as an empty target
    source = make_peer()
    await seed_todos(source, 3, prefix="s")
    result = await replicate_todos(source, store)
    assert result.count("applied") == 3, result.counts
    for id, value in (await state(source)).items():
        assert (await state(store))[id] == value, f"{id} differs after replicating into the store"
    assert await T.count() == 3 + 4


@case
async def repl_twice_in_a_row_applies_nothing(store):
    await seed_todos(store, 4)
    target = make_peer()
    first = await replicate_todos(store, target)
    before = await state(target)
    cp_target = await target.checkpoint()
    second = await replicate_todos(store, target, first.checkpoint)
    assert second.counts == {} and second.conflicts == [], f"second run did {second.counts}"
    assert second.checkpoint == first.checkpoint
    again = await replicate_todos(store, target)  # from the start: everything is known
    assert again.conflicts == [] and set(again.counts) == {"unchanged"}, again.counts
    assert await state(target) == before and await target.checkpoint() == cp_target


@case
async def repl_back_what_was_pulled_is_no_conflict(store):
    source = make_peer()
    await seed_todos(source, 3)
    obj = await todos_on(source).find_by_id("t1")
    await obj.delete()
    pulled = await replicate_todos(source, store)
    back = await replicate_todos(store, source)
    assert back.conflicts == [] and set(back.counts) <= {"unchanged"}, back.counts
    assert await store.conflicts("todos") == [] and await source.conflicts("todos") == []
    await assert_converged(store, source, "after pulling and pushing back")
    assert pulled.count("applied") == 3


@case
async def repl_apply_same_batch_twice_is_idempotent(store):
    source = make_peer()
    await seed_todos(source, 4)
    obj = await todos_on(source).find_by_id("t0")
    await obj.delete()
    docs = await source.feed("todos", 0)
    first = await store.apply("todos", docs, merge=Todo.merge)
    assert [o.status for o in first] == ["applied"] * 4, [o.status for o in first]
    cp, before = await store.checkpoint(), await state(store)
    second = await store.apply("todos", docs, merge=Todo.merge)
    assert [o.status for o in second] == ["unchanged"] * 4, [o.status for o in second]
    assert await store.checkpoint() == cp, "re-applying known revisions moved the checkpoint"
    assert await state(store) == before


class ThirdDocFails(Exception):
    pass


@case
async def repl_apply_batch_is_atomic_when_check_raises(store):
    clock = FakeClock()
    await seed_todos(store, 2, clock)
    source = make_peer()
    await replicate_todos(store, source)
    S, Peer = todos_on(store, clock), todos_on(source, clock)
    clock.tick()
    await (await Peer.find_by_id("t0")).update(title="fast-forward")
    await (await Peer.find_by_id("t1")).update(title="theirs")
    await (await S.find_by_id("t1")).update(title="mine")  # t1 will conflict
    await Peer.create(id="new1", title="new one", order=5)
    await Peer.create(id="new2", title="new two", order=6)
    docs = await source.feed("todos", 0)
    assert len(docs) == 4
    before, cp = await state(store), await store.checkpoint()
    seen = []

    def check(doc, current=None):
        seen.append(doc.id)
        if len(seen) == 3:
            raise ThirdDocFails(doc.id)
        return None

    await raises(ThirdDocFails, store.apply("todos", docs, merge=Todo.merge, check=check))
    assert await state(store) == before, "a failed batch left part of its writes"
    assert await store.checkpoint() == cp, "a failed batch moved the checkpoint"
    assert await store.conflicts("todos") == [], "a failed batch left a conflict record"
    ok = await store.apply("todos", docs, merge=Todo.merge)
    assert sorted(o.status for o in ok) == ["applied", "applied", "applied", "conflict"]


@case(store_independent=True)
async def ws_repl_apply_atomic_when_quota_runs_out():
    source = make_peer()
    await seed_todos(source, 6)
    storage = DictStorage()
    ws = WebStorageStore(storage)
    await seed_todos(ws, 1)
    docs = await source.feed("todos", 0)
    before = snapshot(storage)
    storage.quota = used_chars(storage) + 300  # room for two documents, not six
    await raises(StorageFullError, ws.apply("todos", docs, merge=Todo.merge))
    assert snapshot(storage) == before, "a batch refused by the quota left traces"
    storage.quota = None
    outcomes = await ws.apply("todos", docs, merge=Todo.merge)
    assert [o.status for o in outcomes] == ["unchanged"] + ["applied"] * 5 or \
        [o.status for o in outcomes] == ["applied"] * 6, [o.status for o in outcomes]


@case
async def repl_write_during_replication_not_lost(store):
    clock = FakeClock()
    await seed_todos(store, 6, clock)
    target = make_peer()
    S = todos_on(store, clock)
    calls = []

    async def on_progress(done, total):
        calls.append((done, total))
        if done == 2:
            clock.tick()
            await (await S.find_by_id("t0")).update(title="edited mid-way")  # already sent
            await (await S.find_by_id("t5")).update(completed=True)  # not sent yet
            await S.create(id="late", title="created mid-way", order=9)

    first = await replicate_todos(store, target, batch_size=1, on_progress=on_progress)
    assert first.conflicts == [], f"a mid-replication write was reported as a conflict: {first}"
    assert len(calls) > 2, calls
    second = await replicate_todos(store, target, first.checkpoint)
    assert second.conflicts == [], second
    await assert_converged(store, target, "after the next replication")
    assert (await target.get("todos", "t0")).data["title"] == "edited mid-way"
    assert (await target.get("todos", "t5")).data["completed"] is True
    assert (await target.get("todos", "late")) is not None
    third = await replicate_todos(store, target, second.checkpoint)
    assert third.counts == {}, third.counts


@case
async def repl_deletes_replicate_as_tombstones(store):
    made = await seed_todos(store, 3)
    target = make_peer()
    first = await replicate_todos(store, target)
    await made[0].delete()
    result = await replicate_todos(store, target, first.checkpoint)
    assert result.counts == {"applied": 1}, result.counts
    tomb = await target.get_any("todos", "t0")
    mine = await store.get_any("todos", "t0")
    assert tomb.deleted and tomb.rev == mine.rev, f"target has {tomb}, source {mine}"
    assert await todos_on(target).find_by_id("t0") is None
    assert sorted(ids(await todos_on(target).find())) == ["t1", "t2"]
    (change,) = await target.changes("todos", await target.checkpoint() - 1)
    assert change.type == ChangeType.DELETE


@case
async def repl_diff_reports_missing_and_conflicts(store):
    clock = FakeClock()
    await seed_todos(store, 3, clock)
    other = make_peer()
    await replicate_todos(store, other)
    Peer, S = todos_on(other, clock), todos_on(store, clock)
    clock.tick()
    await (await Peer.find_by_id("t0")).update(title="one edit ahead")  # missing on store
    await (await Peer.find_by_id("t1")).update(title="theirs")  # conflicts
    await (await S.find_by_id("t1")).update(title="mine")
    await Peer.create(id="new", title="new", order=7)  # missing
    changes = await other.changes("todos")
    diff = await store.diff("todos", changes)
    assert sorted(diff["missing"]) == ["new", "t0"], diff
    assert diff["conflicts"] == ["t1"], diff
    own = await store.diff("todos", await store.changes("todos"))
    assert own == {"missing": [], "conflicts": []}, f"a store differs from itself: {own}"


@case
async def repl_diff_agrees_with_apply_when_several_edits_ahead(store):
    clock = FakeClock()
    await seed_todos(store, 1, clock)
    other = make_peer()
    await replicate_todos(store, other)
    Peer = todos_on(other, clock)
    for title in ("second", "third"):
        clock.tick()
        await (await Peer.find_by_id("t0")).update(title=title)
    diff = await store.diff("todos", await other.changes("todos"))
    (outcome,) = await store.apply("todos", await other.feed("todos"), merge=Todo.merge)
    assert outcome.status == "applied"
    assert diff == {"missing": ["t0"], "conflicts": []}, (
        f"diff says {diff} for a change two revisions ahead, which apply fast-forwards")


@case
async def repl_rejected_documents_skipped_rest_applies(store):
    source = make_peer()
    await seed_todos(source, 2)
    good = await source.get("todos", "t0")
    bad = {
        "empty": {**good.data, "id": "empty", "title": "   "},
        "long": {**good.data, "id": "long", "title": "x" * 501},
        "wrong-id": {**good.data, "id": "not-the-key"},
        "untrimmed": {**good.data, "id": "untrimmed", "title": "  padded  "},
    }
    for id, data in bad.items():
        await source.write("todos", id, data, base_rev=None)  # below the model: no validation
    result = await replicate_todos(source, store)
    assert sorted(r["id"] for r in result.rejected) == sorted(bad), result.rejected
    assert all(r["error"] for r in result.rejected), result.rejected
    assert result.count("applied") == 2, result.counts
    T = todos_on(store)
    assert sorted(ids(await T.find())) == ["t0", "t1"]
    for id in bad:
        assert await store.get_any("todos", id) is None, f"rejected {id} was stored"
    again = await replicate_todos(source, store, result.checkpoint)
    assert again.counts == {}, again.counts


@case
async def repl_many_offline_edits_fast_forward(store):
    clock = FakeClock()
    await seed_todos(store, 1, clock)
    other = make_peer()
    await replicate_todos(store, other)
    Peer = todos_on(other, clock)
    for i in range(25):  # a long offline session on one todo
        clock.tick()
        await (await Peer.find_by_id("t0")).update(title=f"edit {i}")
    result = await replicate_todos(other, store)
    assert result.conflicts == [], (
        "25 offline edits of one todo made a false conflict (the history is cut at 20 "
        "revisions and the target's revision falls off it)")
    assert (await store.get("todos", "t0")).data["title"] == "edit 24"
