"""The shared model test cases: one set of async cases, run on CPython and inside Pyodide.

One module per concept (`crud`, `validation`, `filters`, `access`, `replication`, `conflicts`,
`webstorage`, `faults`, `resume`, ...); `registry` holds the `@case` decorator and the runner;
`helpers`, `storages` and `peers` hold what the cases share. Standard library and `models` only
(no pytest, no sqlite3), with relative imports only, because the browser writes this package into
Pyodide's file system and imports it there. tests/test_models.py runs the cases on CPython
(each store case on every store kind), tests/test_models_pyodide.py in real Pyodide.
"""

from __future__ import annotations

# Importing the concept modules registers their cases.
from . import (  # noqa: F401
    access,
    bulk,
    changes,
    conflicts,
    crud,
    faults,
    filters,
    hooks,
    hostile,
    lists,
    merge,
    relayout,
    replication,
    resume,
    resync,
    revisions,
    serialization,
    server_changed,
    stale_writes,
    sync,
    tab_closed,
    unacked,
    validation,
    versions,
    webstorage,
    webstorage_failures,
)
from .helpers import raises
from .registry import (
    CASES,
    Case,
    case,
    run_store_cases,
    run_store_independent_cases,
    store_cases,
    store_independent_cases,
)

__all__ = ["CASES", "Case", "case", "raises", "run_store_cases", "run_store_independent_cases",
           "store_cases", "store_independent_cases"]
