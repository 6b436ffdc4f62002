"""`bench.prefill.bulk_fresh` writes rows the real `SQLiteStore` reads as ordinary todos."""

from __future__ import annotations

import asyncio

from bench import prefill
from models import Todo, default_list_id
from models.stores.sqlite import SQLiteStore


def test_a_bulk_filled_database_reads_as_n_todos_spread_over_the_other_users(tmp_path):
    path = tmp_path / "bulk.db"
    prefill.bulk_fresh(path, 2500)

    async def read():
        store = SQLiteStore(str(path))
        try:
            docs = await store.feed("todos", 0, 5000)
            owner = docs[7].data["owner"]  # who wrote it (the document's owner is its list)
            mine = await Todo.using(store).as_user(owner).find()
            top = await store.checkpoint()
            await Todo.using(store).as_user(owner).create(title="after the fill")
            new = (await store.feed("todos", top, 10))[0]
            return docs, owner, mine, top, new
        finally:
            store.close()

    docs, owner, mine, top, new = asyncio.run(read())
    assert len(docs) == 2500 and len({doc.id for doc in docs}) == 2500
    assert [doc.checkpoint for doc in docs] == list(range(1, 2501))
    assert len({doc.owner for doc in docs}) == prefill.OTHER_USERS
    assert all(doc.owner == default_list_id(doc.data["owner"]) for doc in docs)
    assert {todo.owner for todo in mine} == {owner} and len(mine) in (2, 3)
    assert all(todo.title.startswith("someone's todo ") for todo in mine)
    assert top == 2500 and new.checkpoint == 2501 and new.data["owner"] == owner
