"""Revision names: `<generation>-<hash>`, the same in every store."""

from __future__ import annotations

from models import MemoryStore, Todo
from models.revisions import generation, next_revision

from .helpers import REV
from .registry import case


@case
async def rev_generation_increments(store):
    T = Todo.using(store)
    todo = await T.create(title="rev")
    revs = [todo._rev]
    await todo.update(title="rev 2")
    revs.append(todo._rev)
    await todo.update(completed=True)
    revs.append(todo._rev)
    for rev in revs:
        assert REV.match(rev), f"rev {rev!r} is not <generation>-<32 hex>"
    assert [generation(r) for r in revs] == [1, 2, 3], revs
    await todo.delete()
    tomb = await store.get_any("todos", todo.id)
    assert generation(tomb.rev) == 4 and tomb.prev == revs[-1], f"tombstone {tomb}"


@case
async def store_revs_follow_the_shared_scheme(store):
    data = {"id": "s1", "title": "same", "n": 1}
    first = await store.write("notes", "s1", data, base_rev=None)
    assert first.rev == next_revision(None, data), "stores must compute revs with next_revision"
    second = await store.write("notes", "s1", {**data, "n": 2}, base_rev=first.rev)
    assert second.rev == next_revision(first.rev, {**data, "n": 2}) and second.prev == first.rev
    gone = await store.write("notes", "s1", None, base_rev=second.rev)
    assert gone.rev == next_revision(second.rev, None, deleted=True) and gone.deleted
    other = MemoryStore()
    mirrored = await other.write("notes", "s1", dict(reversed(list(data.items()))), base_rev=None)
    assert mirrored.rev == first.rev, "same content and parent must give the same rev anywhere"


@case(store_independent=True)
async def next_revision_is_deterministic():
    a = next_revision(None, {"x": 1, "y": [1, 2]})
    assert a == next_revision(None, {"y": [1, 2], "x": 1}), "key order must not matter"
    assert a.startswith("1-") and REV.match(a)
    assert next_revision(a, {"x": 1}) == next_revision(a, {"x": 1})
    assert next_revision(a, {"x": 1}).startswith("2-")
    assert next_revision(a, {"x": 2}) != next_revision(a, {"x": 1}), "content is in the hash"
    b = next_revision(None, {"x": 2})
    assert next_revision(a, {"z": 0}) != next_revision(b, {"z": 0}), "the parent is in the hash"
    assert next_revision(a, None, deleted=True) != next_revision(a, None)
    assert generation(None) == 0 and generation("garbage") == 0 and generation("12-ab") == 12
    assert next_revision("garbage", {}).startswith("1-")


@case(store_independent=True)
async def owner_is_not_in_the_revision():
    """A document moved to another server keeps its revision while its owner becomes that
    server's id of the account, and both servers name the same merge alike."""
    from models.document import Document, with_owner
    from models.reconcile import reconcile
    from models.revisions import merge_revision

    body = {"id": "t", "title": "milk", "completed": False, "owner": "id-on-c"}
    root = next_revision(None, body)
    assert root == next_revision(None, {**body, "owner": "id-on-d"})
    assert root == next_revision(None, {k: v for k, v in body.items() if k != "owner"})
    assert root != next_revision(None, {**body, "title": "oat milk"}), "the rest is hashed"
    assert merge_revision([root, "2-" + "0" * 32], body) == \
        merge_revision([root, "2-" + "0" * 32], {**body, "owner": "id-on-d"})

    def edit(data: dict, **change: object) -> Document:
        new = {**data, **change}
        return Document("todos", "t", next_revision(root, new), 0, False, new, history=(root,),
                        base_rev=root, base_data=data, owner=new["owner"])

    here = edit(body, title="oat milk")
    there = edit(body, completed=True)
    on_c = reconcile(here, there, Todo.merge).doc
    on_d = reconcile(with_owner(there, "id-on-d"), with_owner(here, "id-on-d"), Todo.merge).doc
    assert on_c is not None and on_d is not None
    assert on_c.rev == on_d.rev, "the same merge made on two servers has one name"
    assert on_d.data == {**on_c.data, "owner": "id-on-d"} and on_d.owner == "id-on-d"
    assert with_owner(there, "id-on-d").base_data["owner"] == "id-on-d"
