"""The changes feed and the checkpoint: order, paging, one model's changes, tombstones."""

from __future__ import annotations

from models import Change, ChangeType, ConflictError, Todo, ValidationError
from models.revisions import generation

from .helpers import Item, raises
from .registry import case


@case
async def checkpoint_only_grows(store):
    T = Todo.using(store)
    assert await store.checkpoint() == 0, "an empty store starts at checkpoint 0"
    seen = [0]

    async def step(expect_growth: bool) -> None:
        now = await store.checkpoint()
        if expect_growth:
            assert now > seen[-1], f"checkpoint did not grow: {seen} then {now}"
        else:
            assert now == seen[-1], f"checkpoint moved without a write: {seen} then {now}"
        seen.append(now)

    todo = await T.create(title="a")
    await step(True)
    await todo.update(title="b")
    await step(True)
    await raises(ValidationError, todo.update(title=""))
    await step(False)
    stale = T.from_dict(todo.to_dict(), rev="1-" + "0" * 32)
    await raises(ConflictError, stale.update(title="c"))
    await step(False)
    await T.find()
    await store.changes("todos")
    await step(False)
    await (await T.find_by_id(todo.id)).delete()
    await step(True)
    await T.create(title="d")
    await step(True)


@case
async def changes_newest_per_doc_in_checkpoint_order(store):
    T = Todo.using(store)
    a = await T.create(title="a")
    b = await T.create(title="b")
    since = await store.checkpoint()
    c = await T.create(title="c")
    await a.update(title="a2")
    await a.update(title="a3")
    await b.delete()
    changes = await store.changes("todos", since)
    assert [ch.id for ch in changes] == [c.id, a.id, b.id], f"order/newest-only: {changes}"
    assert [ch.type for ch in changes] == [ChangeType.CREATE, ChangeType.UPDATE, ChangeType.DELETE]
    points = [ch.checkpoint for ch in changes]
    assert points == sorted(points) and len(set(points)) == 3 and points[0] > since, points
    assert points[-1] == await store.checkpoint(), "the last change is at the current checkpoint"
    assert changes[1].rev == a._rev and generation(a._rev) == 3, "only a's newest revision"
    everything = await store.changes("todos", 0)
    assert [ch.id for ch in everything] == [c.id, a.id, b.id], "one change per document"
    assert await store.changes("todos", await store.checkpoint()) == []
    assert all(isinstance(ch, Change) for ch in everything)


@case
async def changes_limit_pages(store):
    T = Todo.using(store)
    made = [await T.create(title=f"t{i}") for i in range(7)]
    await made[0].update(title="t0 again")
    expected = [t.id for t in made[1:]] + [made[0].id]
    pages, since = [], 0
    while True:
        page = await store.changes("todos", since, limit=3)
        assert len(page) <= 3, f"limit 3 returned {len(page)}"
        if not page:
            break
        pages.append([ch.id for ch in page])
        since = page[-1].checkpoint
    assert [len(p) for p in pages] == [3, 3, 1], f"pages: {pages}"
    assert [id for page in pages for id in page] == expected, \
        "paging lost, repeated or reordered changes"


@case
async def changes_limit_zero_returns_nothing(store):
    T = Todo.using(store)
    for i in range(3):
        await T.create(title=f"t{i}")
    got = await store.changes("todos", 0, limit=0)
    assert got == [], f"limit=0 must return no changes, got {len(got)}"
    assert len(await store.changes("todos", 0, limit=1)) == 1


@case
async def changes_of_other_models_excluded(store):
    T, Items = Todo.using(store), Item.using(store)
    t = await T.create(title="todo")
    i = await Items.create(name="item")
    await t.update(title="todo 2")
    assert [ch.id for ch in await store.changes("todos")] == [t.id]
    assert [ch.id for ch in await store.changes("items")] == [i.id]
    assert len(await store.changes("items", 0, limit=1)) == 1
    assert await store.checkpoint() == 3, "one checkpoint sequence per store, across models"
    assert await store.changes("nothing") == []


@case
async def delete_records_tombstone_change(store):
    T = Todo.using(store)
    todo = await T.create(title="bye")
    rev = todo._rev
    since = await store.checkpoint()
    await todo.delete()
    changes = await store.changes("todos", since)
    assert len(changes) == 1, f"a delete must record one change: {changes}"
    change = changes[0]
    assert change.type is ChangeType.DELETE and change.prev == rev, change
    assert generation(change.rev) == 2 and change.checkpoint == since + 1, change
    tomb = await store.get_any("todos", todo.id)
    assert tomb.deleted and tomb.data is None and tomb.rev == change.rev, tomb
    assert await store.get("todos", todo.id) is None
    assert Change.from_dict(change.to_dict()) == change
    assert change.to_dict()["type"] == "delete"
