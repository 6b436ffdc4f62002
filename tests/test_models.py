"""Every shared model case (tests/model_cases.py) on CPython, once per store kind.

One test function per case, parametrized by store, so ids read `test_<case>[sqlite]` and
`pytest -k <case>` runs one case on every store. The same cases run inside Pyodide through
`model_cases.run_all`.
"""

from __future__ import annotations

import pytest

from models import DictStorage, MemoryStore, WebStorageStore
from models.stores.sqlite import SQLiteStore

from .model_cases import CASES

STORE_KINDS = ("memory", "webstorage", "sqlite")


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    kind = request.param
    if kind == "memory":
        yield MemoryStore()
    elif kind == "webstorage":
        yield WebStorageStore(DictStorage())
    else:
        sqlite_store = SQLiteStore(str(tmp_path / "offsync.db"))
        try:
            yield sqlite_store
        finally:
            sqlite_store.close()


def _test_for(fn):
    async def test(store):
        await fn(store)

    test.__name__ = test.__qualname__ = f"test_{fn.__name__}"
    test.__doc__ = fn.__doc__
    return test


for _fn in CASES:
    globals()[f"test_{_fn.__name__}"] = _test_for(_fn)
del _fn


def test_cases_are_many_and_uniquely_named():
    names = [fn.__name__ for fn in CASES]
    assert len(CASES) >= 40, f"only {len(CASES)} shared cases"
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"duplicate case names: {duplicates}"
