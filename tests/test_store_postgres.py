"""Every shared model case (tests/model_cases.py) on `PostgresStore`, in a throwaway cluster.

Ids read `test_<case>` as in tests/test_models.py, so `pytest -k <case>` runs one case on every
store. Each case gets the session's database with its tables emptied (`postgres_url`), and a
store with a small pool of its own (each test has its own event loop, a pool belongs to one).
"""

from __future__ import annotations

import pytest

from server.postgres import PostgresStore

from .model_cases import CASES


@pytest.fixture
async def store(postgres_url):
    opened = await PostgresStore.open(postgres_url, min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


def _test_for(fn):
    async def test(store):
        await fn(store)

    test.__name__ = test.__qualname__ = f"test_{fn.__name__}"
    test.__doc__ = fn.__doc__
    return test


for _fn in CASES:
    globals()[f"test_{_fn.__name__}"] = _test_for(_fn)
del _fn


def test_every_shared_case_runs_here():
    names = {name for name in globals() if name.startswith("test_")}
    missing = [fn.__name__ for fn in CASES if f"test_{fn.__name__}" not in names]
    assert len(CASES) >= 40 and not missing, missing
