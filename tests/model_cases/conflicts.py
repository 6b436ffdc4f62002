"""Replication conflicts: both versions kept, recorded, and resolved (source, target,
manually, after a reload, from the other side)."""

from __future__ import annotations

from models import Todo, ValidationError, stored_conflicts

from .helpers import raises, raises_sync
from .peers import assert_converged, conflicting_pair, make_peer, replicate_todos
from .registry import case


async def _same_field_conflict(store, other):
    await conflicting_pair(store, other, store_change=("title", "mine"),
                           other_change=("title", "theirs"))
    before = await store.get("todos", "x")
    result = await replicate_todos(other, store)
    return before, result


@case
async def repl_same_field_conflict_keeps_both_versions(store):
    other = make_peer()
    before, result = await _same_field_conflict(store, other)
    assert len(result.conflicts) == 1, f"expected one conflict: {result}"
    conflict = result.conflicts[0]
    assert conflict.type() == "update" and conflict.id == "x"
    after = await store.get("todos", "x")
    assert after.rev == before.rev and after.data == before.data, "the conflict overwrote mine"
    theirs = await other.get("todos", "x")
    assert theirs.data["title"] == "theirs", "the source was changed by replicating from it"
    src_model, tgt_model = conflict.models()
    assert (src_model.title, tgt_model.title) == ("theirs", "mine")
    src_change, tgt_change = conflict.changes()
    assert (src_change.rev, tgt_change.rev) == (theirs.rev, after.rev)
    recorded = await store.conflicts("todos")
    assert [(m.rev, t.rev) for m, t in recorded] == [(after.rev, theirs.rev)], recorded
    (stored,) = await stored_conflicts(store, Todo)
    assert stored.source_doc.rev == theirs.rev and stored.target_doc.rev == after.rev
    assert stored.models()[0].title == "theirs"
    again = await replicate_todos(other, store, result.checkpoint)
    assert again.counts == {}, "a recorded conflict was replicated again"


@case
async def repl_edit_against_delete_is_a_delete_conflict(store):
    for mine, theirs in ((("delete", None), ("title", "edited")),
                         (("title", "edited"), ("delete", None))):
        other = make_peer()
        target = make_peer()
        await replicate_todos(store, target)  # a copy to restore from
        await conflicting_pair(store, other, store_change=mine, other_change=theirs)
        before = await store.get_any("todos", "x")
        result = await replicate_todos(other, store)
        assert len(result.conflicts) == 1, f"{mine} vs {theirs}: {result.counts}"
        assert result.conflicts[0].type() == "delete"
        after = await store.get_any("todos", "x")
        assert after == before, f"{mine} vs {theirs}: the target changed"
        (stored,) = await stored_conflicts(store, Todo)
        assert stored.type() == "delete"
        outcome = await stored.resolve_using_target()
        assert outcome.status == "applied", outcome
        await replicate_todos(store, other)
        await replicate_todos(other, store)
        await assert_converged(store, other, f"{mine} vs {theirs}")
        assert (await store.get_any("todos", "x")).deleted == before.deleted


async def _resolve_and_converge(store, how: str) -> dict | None:
    other = make_peer()
    _, result = await _same_field_conflict(store, other)
    (conflict,) = result.conflicts
    if how == "source":
        outcome = await conflict.resolve_using_source()
    elif how == "target":
        outcome = await conflict.resolve_using_target()
    else:
        outcome = await conflict.resolve_manually({"title": "both", "completed": True,
                                                   "order": 1})
    assert outcome.status == "applied", f"{how}: {outcome}"
    assert await store.conflicts("todos") == [], f"{how}: resolving left the conflict"
    push = await replicate_todos(store, other)
    pull = await replicate_todos(other, store)
    assert push.conflicts == [] and pull.conflicts == [], f"{how}: resolution conflicted again"
    await assert_converged(store, other, how)
    return (await store.get("todos", "x")).data


@case
async def repl_resolve_using_source_converges(store):
    data = await _resolve_and_converge(store, "source")
    assert data["title"] == "theirs", data


@case
async def repl_resolve_using_target_converges(store):
    data = await _resolve_and_converge(store, "target")
    assert data["title"] == "mine", data


@case
async def repl_resolve_manually_converges(store):
    data = await _resolve_and_converge(store, "manual")
    assert data["title"] == "both" and data["completed"] is True, data


@case
async def repl_resolve_manually_validates(store):
    other = make_peer()
    before, result = await _same_field_conflict(store, other)
    (conflict,) = result.conflicts
    await raises(ValidationError, conflict.resolve_manually({"title": "   "}))
    assert (await store.get("todos", "x")) == before, "a rejected resolution wrote"
    assert len(await store.conflicts("todos")) == 1


@case
async def repl_stored_conflict_resolved_after_reload(store):
    other = make_peer()
    await _same_field_conflict(store, other)
    (conflict,) = await stored_conflicts(store, Todo)
    raises_sync(ValueError, conflict.swap_parties)  # loaded from one store: no other side
    await conflict.resolve_using_source()
    await replicate_todos(store, other)
    await replicate_todos(other, store)
    await assert_converged(store, other, "stored conflict")
    assert (await store.get("todos", "x")).data["title"] == "theirs"


@case
async def repl_swap_parties(store):
    other = make_peer()
    _, result = await _same_field_conflict(store, other)
    (conflict,) = result.conflicts
    swapped = conflict.swap_parties()
    assert swapped.source_doc.rev == conflict.target_doc.rev
    assert swapped.target_doc.rev == conflict.source_doc.rev
    assert swapped.target is other and swapped.source is store
    assert swapped.swap_parties().source_doc.rev == conflict.source_doc.rev
    # settle it on the other side: the other store keeps its own version
    await swapped.resolve_using_target()
    await replicate_todos(other, store)
    await replicate_todos(store, other)
    await assert_converged(store, other, "swap_parties")
    assert (await store.get("todos", "x")).data["title"] == "theirs"
