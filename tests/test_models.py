"""Every shared model case (tests/model_cases/) on CPython: each store case once per store kind
(PostgreSQL in the throwaway cluster of tests/postgres_cluster.py), each store-independent case
once.

The cases come from the registry the `@case` decorator fills, so a case's test id is its function
name (`test_store_case[create_then_find_by_id-sqlite]`) and `pytest -k <case>` runs one case on
every store. The same cases run inside Pyodide through tests/test_models_pyodide.py.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from models import DictStorage, MemoryStore, WebStorageStore
from models.stores.sqlite import SQLiteStore
from server.postgres import PostgresStore

from .model_cases import CASES, store_cases, store_independent_cases

STORE_KINDS = ("memory", "webstorage", "sqlite", "postgresql")
HELPER_MODULES = {"__init__", "registry", "helpers", "storages", "peers"}


@pytest.fixture
async def store(kind, tmp_path, request):
    if kind == "memory":
        yield MemoryStore()
    elif kind == "webstorage":
        yield WebStorageStore(DictStorage())
    elif kind == "postgresql":  # the session's database, its tables emptied for each case
        opened = await PostgresStore.open(request.getfixturevalue("postgres_url"),
                                          min_size=1, max_size=4)
        try:
            yield opened
        finally:
            await opened.close()
    else:
        sqlite_store = SQLiteStore(str(tmp_path / "offsync.db"))
        try:
            yield sqlite_store
        finally:
            sqlite_store.close()


@pytest.mark.parametrize("kind", STORE_KINDS)
@pytest.mark.parametrize("case", store_cases(), ids=lambda c: c.name)
async def test_store_case(case, store):
    await case.fn(store)


@pytest.mark.parametrize("case", store_independent_cases(), ids=lambda c: c.name)
async def test_store_independent_case(case):
    await case.fn()


def test_cases_are_many_uniquely_named_and_marked_by_what_they_take():
    names = [c.name for c in CASES]
    assert len(CASES) >= 40, f"only {len(CASES)} shared cases"
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"duplicate case names: {duplicates}"
    for c in CASES:
        params = list(inspect.signature(c.fn).parameters)
        expected = [] if c.store_independent else ["store"]
        assert params == expected, f"{c.name} takes {params}, a {c.module} case takes {expected}"


def test_every_concept_module_registers_cases():
    package = Path(__file__).parent / "model_cases"
    concepts = {path.stem for path in package.glob("*.py")} - HELPER_MODULES
    assert {c.module for c in CASES} == concepts, "a module of cases is not imported"
