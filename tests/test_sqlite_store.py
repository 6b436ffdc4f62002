"""CPython-only details the shared cases cannot see: SQLite's query plan and file, the runner."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from models import ConflictError, Document, MemoryStore, Todo
from models.stores.sqlite import SQLiteStore

from .model_cases import raises, run_store_cases, run_store_independent_cases

MODEL_CASES = Path(__file__).resolve().parent / "model_cases"


async def _fill(store, n: int) -> type[Todo]:
    T = Todo.using(store)
    for i in range(n):
        await T.create(title=f"todo {i}")
    return T


async def test_sqlite_changes_walks_the_checkpoint_index(tmp_path):
    store = SQLiteStore(str(tmp_path / "plan.db"))
    try:
        await _fill(store, 50)
        statements: list[str] = []
        store.db.set_trace_callback(statements.append)
        await store.changes("todos", since=40, limit=5)
        store.db.set_trace_callback(None)
        query = [s for s in statements if "checkpoint >" in s]
        assert len(query) == 1, f"changes() ran {statements}"
        rows = store.db.execute("EXPLAIN QUERY PLAN " + query[0])
        plan = " | ".join(row["detail"] for row in rows)
        assert "documents_by_checkpoint" in plan, f"changes() does not use the index: {plan}"
        assert "TEMP B-TREE" not in plan, f"changes() sorts instead of walking the index: {plan}"
    finally:
        store.close()


async def test_sqlite_file_persists_across_reopen(tmp_path):
    path = str(tmp_path / "nested" / "offsync.db")
    store = SQLiteStore(path)
    T = await _fill(store, 3)
    first, _, last = await T.find()
    await first.update(completed=True)
    await last.delete()
    checkpoint = await store.checkpoint()
    changes = await store.changes("todos")
    store.close()

    reopened = SQLiteStore(path)
    try:
        R = Todo.using(reopened)
        assert await reopened.checkpoint() == checkpoint == 5
        assert await reopened.changes("todos") == changes
        found = await R.find_by_id(first.id)
        assert found.to_dict() == first.to_dict() and found._rev == first._rev
        assert await R.find_by_id(last.id) is None and await R.count() == 2
        again = await R.create(title="after reopen")
        assert (await reopened.changes("todos", checkpoint))[0].id == again.id
        assert await reopened.checkpoint() == checkpoint + 1, "checkpoints continue after reopen"
    finally:
        reopened.close()


async def test_sqlite_checkpoint_never_reused_after_rollback(tmp_path):
    store = SQLiteStore(str(tmp_path / "seq.db"))
    try:
        T = await _fill(store, 2)
        todo = (await T.find())[0]
        stale = T.from_dict(todo.to_dict(), rev="1-" + "0" * 32)
        await raises(ConflictError, stale.update(title="stale"))
        assert await store.checkpoint() == 2
        await todo.update(title="fresh")
        assert await store.checkpoint() == 3
        assert not store.db.in_transaction, "a refused write left a transaction open"
    finally:
        store.close()


async def test_sqlite_database_from_before_unacked_bodies_opens_and_keeps_them(tmp_path):
    """A database written before documents kept unacknowledged bodies gains the column on open;
    its documents read as they were, and the new bookkeeping persists across a reopen."""
    import sqlite3

    path = str(tmp_path / "old.db")
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE documents (model TEXT NOT NULL, id TEXT NOT NULL, rev TEXT NOT NULL,
            checkpoint INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, type TEXT NOT NULL,
            data TEXT, history TEXT NOT NULL DEFAULT '[]', base_rev TEXT, base_data TEXT,
            owner TEXT, PRIMARY KEY (model, id)) WITHOUT ROWID;
    """)
    old.execute("INSERT INTO documents VALUES ('todos', 'x', ?, 1, 0, 'create', ?, '[]', ?, "
                "NULL, NULL)", ("1-" + "a" * 32, '{"id": "x", "title": "old"}', "1-" + "a" * 32))
    old.commit()
    old.close()
    store = SQLiteStore(path)
    try:
        doc = await store.get("todos", "x")
        assert (doc.data, doc.base_rev, doc.unacked) == ({"id": "x", "title": "old"}, doc.rev, ())
        kept = ((doc.rev, doc.data),)
        async with store.adapter.transaction() as tx:
            await tx.put_doc(Document("todos", "y", "2-" + "b" * 32, 0, False, {"id": "y"},
                                      unacked=kept))
        assert await store.checkpoint() == 2, "the counter continues after the old documents"
    finally:
        store.close()
    reopened = SQLiteStore(path)
    try:
        assert (await reopened.get("todos", "y")).unacked == kept
    finally:
        reopened.close()


async def test_sqlite_database_with_a_change_log_upgrades_keeping_everything(tmp_path):
    """A database of the previous layout (a `changes` log, conflicts as JSON text, the purge
    horizon as `horizon:<model>`) opens with its sequence, conflicts and horizon intact."""
    import sqlite3

    from models.stores.codec import encode

    path = str(tmp_path / "previous.db")
    rev, theirs_rev = "2-" + "a" * 32, "2-" + "c" * 32
    theirs = Document("todos", "x", theirs_rev, 0, False, {"id": "x", "title": "theirs"},
                      history=("1-" + "b" * 32,))
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE changes (checkpoint INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL,
            id TEXT NOT NULL, rev TEXT NOT NULL, prev TEXT, type TEXT NOT NULL);
        CREATE TABLE documents (model TEXT NOT NULL, id TEXT NOT NULL, rev TEXT NOT NULL,
            checkpoint INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, type TEXT NOT NULL,
            data TEXT, history TEXT NOT NULL DEFAULT '[]', base_rev TEXT, base_data TEXT,
            owner TEXT, unacked TEXT, PRIMARY KEY (model, id)) WITHOUT ROWID;
        CREATE TABLE conflicts (model TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
            PRIMARY KEY (model, id)) WITHOUT ROWID;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    """)
    for _ in range(7):  # the log ran ahead of the documents: purged and rewritten ones
        old.execute("INSERT INTO changes (model, id, rev, type) VALUES ('todos', 'x', 'r', 'u')")
    old.execute("INSERT INTO documents VALUES ('todos', 'x', ?, 5, 0, 'update', ?, '[]', NULL,"
                " NULL, NULL, NULL)", (rev, '{"id": "x", "title": "mine"}'))
    old.execute("INSERT INTO conflicts VALUES ('todos', 'x', ?)", (encode(theirs),))
    old.execute("INSERT INTO meta VALUES ('horizon:todos', 3)")
    old.commit()
    old.close()
    for _ in range(2):  # the upgrade, then an ordinary open of the upgraded file
        store = SQLiteStore(path)
        try:
            assert await store.checkpoint() == 7
            [(mine, other)] = await store.conflicts("todos")
            assert (mine.rev, other.rev, other.data, other.history) == (
                rev, theirs_rev, theirs.data, theirs.history)
            assert await store.purge_horizon("todos") == 3
            tables = {row[0] for row in store.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert "changes" not in tables
        finally:
            store.close()
    store = SQLiteStore(path)
    try:
        written = await store.write("todos", "y", {"id": "y", "title": "new"}, base_rev=None)
        assert written.checkpoint == 8, "a checkpoint the old log handed out was reused"
    finally:
        store.close()


async def test_run_store_cases_reports_each_case():
    names = ["create_then_find_by_id", "where_and_or"]
    results = await run_store_cases(MemoryStore, names=names)
    assert [r["name"] for r in results] == names
    assert all(r["ok"] and r["error"] is None for r in results), results


async def test_run_store_independent_cases_runs_them_without_a_store():
    names = ["access_deny_wins", "from_json_rejects_garbage", "create_then_find_by_id"]
    results = await run_store_independent_cases(names=names)
    assert [r["name"] for r in results] == names[:2], "a store case ran without a store"
    assert all(r["ok"] and r["error"] is None for r in results), results


async def test_run_store_cases_accepts_async_factories_and_closes_stores(tmp_path):
    closed: list[str] = []

    class ClosingStore(MemoryStore):
        async def close(self) -> None:
            closed.append("closed")

    async def make():
        return ClosingStore()

    results = await run_store_cases(make, names=["defaults", "ids_random_and_unique"])
    assert [r["ok"] for r in results] == [True, True], results
    assert closed == ["closed", "closed"], "each store must be closed after its case"


async def test_run_store_cases_returns_failures_as_tracebacks():
    class Broken(MemoryStore):
        async def write(self, *args, **kw):
            raise RuntimeError("store is broken")

    results = await run_store_cases(Broken, names=["create_then_find_by_id"])
    assert len(results) == 1 and not results[0]["ok"]
    assert "RuntimeError: store is broken" in results[0]["error"]
    assert "Traceback" in results[0]["error"]


def test_model_cases_import_only_stdlib_models_and_each_other():
    """Pyodide imports the package from its file system as `model_cases`: nothing else is there."""
    allowed = (set(sys.stdlib_module_names) - {"sqlite3", "_sqlite3"}) | {"models", "__future__"}
    siblings = {path.stem for path in MODEL_CASES.glob("*.py")}
    for path in sorted(MODEL_CASES.glob("*.py")):
        roots = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots.add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 1, f"{path.name}: import from outside the package"
                named = [node.module] if node.module else [a.name for a in node.names]
                assert set(named) <= siblings, f"{path.name}: no module {named} in the package"
        assert roots <= allowed, f"{path.name} imports {sorted(roots - allowed)}"
