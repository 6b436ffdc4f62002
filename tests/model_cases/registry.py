"""The registry of shared cases and the runner that runs them where pytest is not (Pyodide).

A case is an `async def` registered with `@case` (it takes a fresh, empty store) or with
`@case(store_independent=True)` (it takes nothing: it tests code that no store reaches, or builds
the storage it needs itself, so it runs once per runtime instead of once per store).

    results = await run_store_cases(MemoryStore)     # [{"name", "ok", "error"}, ...]
    results = await run_store_independent_cases()
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    fn: Callable[..., Awaitable[None]]
    store_independent: bool = False

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def module(self) -> str:
        """The concept module that defines the case (`crud`, `replication`, ...)."""
        return self.fn.__module__.rsplit(".", 1)[-1]


CASES: list[Case] = []


def case(fn: Callable[..., Awaitable[None]] | None = None, *, store_independent: bool = False):
    """Register an async case under its function name; usable bare or with arguments."""

    def register(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        CASES.append(Case(fn, store_independent))
        return fn

    return register if fn is None else register(fn)


def store_cases() -> list[Case]:
    return [c for c in CASES if not c.store_independent]


def store_independent_cases() -> list[Case]:
    return [c for c in CASES if c.store_independent]


async def run_store_cases(make_store: Callable[[], Any], names=None) -> list[dict]:
    """Run every store case (or those in `names`) on a fresh store each; never raises for a
    failure. `make_store` may be sync or async; a store with a `close` is closed after its case.
    Returns `[{"name", "ok", "error"}]`, error being the formatted traceback of a failure."""
    return [await _run(c, make_store) for c in _wanted(store_cases(), names)]


async def run_store_independent_cases(names=None) -> list[dict]:
    """Run every store-independent case (or those in `names`) once, as `run_store_cases` does."""
    return [await _run(c, None) for c in _wanted(store_independent_cases(), names)]


def _wanted(cases: list[Case], names) -> list[Case]:
    return cases if names is None else [c for c in cases if c.name in set(names)]


async def _run(case: Case, make_store: Callable[[], Any] | None) -> dict:
    error = None
    store = None
    try:
        if make_store is None:
            await case.fn()
        else:
            store = make_store()
            if inspect.isawaitable(store):
                store = await store
            await case.fn(store)
    except Exception:  # noqa: BLE001 - a runner reports every failure, whatever it is
        error = traceback.format_exc()
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            try:
                closed = close()
                if inspect.isawaitable(closed):
                    await closed
            except Exception:  # noqa: BLE001 - same: report, do not stop the run
                error = error or traceback.format_exc()
    return {"name": case.name, "ok": error is None, "error": error}
