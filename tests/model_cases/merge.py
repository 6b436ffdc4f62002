"""Edits of different fields on two sides merge without a conflict."""

from __future__ import annotations

from models import Document, Todo
from models.revisions import next_revision

from .peers import PEER_KINDS, assert_converged, conflicting_pair, make_peer, replicate_todos
from .registry import case


@case
async def repl_different_fields_merge_without_conflict(store):
    for kind in PEER_KINDS:
        other = make_peer(kind)
        mine, theirs = await conflicting_pair(store, other, store_change=("title", "new title"),
                                              other_change=("toggle", None))
        result = await replicate_todos(other, store)
        assert result.conflicts == [] and result.count("merged") == 1, f"{kind}: {result.counts}"
        merged = await store.get("todos", "x")
        assert merged.data["title"] == "new title" and merged.data["completed"] is True, merged
        back = await replicate_todos(store, other)
        assert back.conflicts == [], f"{kind}: pushing the merge back conflicted"
        await assert_converged(store, other, kind)
        again = await replicate_todos(other, store)
        assert again.conflicts == [] and set(again.counts) <= {"unchanged"}, again.counts
        await store.write("todos", "x", None, base_rev=merged.rev)  # reset for the next peer
        await store.purge_tombstones("todos", await store.checkpoint())


@case
async def repl_sides_that_agree_merge_without_a_kept_base(store):
    """When no side kept the newest common ancestor's body, two sides that agree on every field
    but the save stamps still merge (the result cannot depend on the base); sides that differ
    are a conflict."""
    from models.reconcile import reconcile

    root = next_revision(None, {"id": "x"})

    def side(title: str, stamp: str) -> Document:
        data = {"id": "x", "title": title, "completed": False, "order": 1,
                "created_at": "2024-01-01T00:00:00.000Z", "updated_at": stamp, "owner": None}
        return Document("todos", "x", next_revision(root, data), 0, False, data,
                        history=(root,))

    mine = side("same", "2024-01-01T00:00:01.000Z")
    theirs = side("same", "2024-01-01T00:00:02.000Z")
    decision = reconcile(mine, theirs, Todo.merge)
    assert decision.status == "merged", decision
    assert decision.doc.data["updated_at"] == "2024-01-01T00:00:02.000Z", decision.doc.data
    assert decision.doc.knows(mine.rev) and decision.doc.knows(theirs.rev)
    other = side("different", "2024-01-01T00:00:03.000Z")
    assert reconcile(mine, other, Todo.merge).status == "conflict"
    assert [o.status for o in await store.apply("todos", [mine])] == ["applied"]
    (outcome,) = await store.apply("todos", [theirs], merge=Todo.merge)
    assert outcome.status == "merged", outcome
    assert outcome.current.data["title"] == "same" and await store.conflicts("todos") == []
