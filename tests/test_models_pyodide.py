"""The shared model cases (`tests/model_cases/`) run again inside Pyodide in real Chromium.

One browser session loads Pyodide from the server's local runtime, unpacks the `models` archive the
server serves (the very bytes pages get), and runs every store case against three stores: memory,
Web Storage over a dict, and the browser's real `window.localStorage`, and every store-independent
case once. Each (case, store) pair, and each store-independent case, is then reported as its own
pytest test, so a package that only works on CPython cannot pass.
"""

from __future__ import annotations

import json

import pytest

from tests.browser_helpers import run_in_pyodide
from tests.model_cases import store_cases, store_independent_cases

pytestmark = pytest.mark.browser

KINDS = ("memory", "webstorage-dict", "localstorage")
STORE_CASE_NAMES = [c.name for c in store_cases()]
STORE_INDEPENDENT_NAMES = [c.name for c in store_independent_cases()]

RUN_CASES = """
import json, sys
import js
from model_cases import run_store_cases, run_store_independent_cases
from models import DictStorage, MemoryStore, WebStorageStore

def real_local_storage():
    js.window.localStorage.clear()
    return WebStorageStore(js.window.localStorage, app="cases")

makers = {
    "memory": MemoryStore,
    "webstorage-dict": lambda: WebStorageStore(DictStorage()),
    "localstorage": real_local_storage,
}
results = {kind: await run_store_cases(make) for kind, make in makers.items()}
json.dumps({"python": sys.version, "results": results,
            "store_independent": await run_store_independent_cases()})
"""


@pytest.fixture(scope="module")
def pyodide_results(browser, live_server):
    context = browser.new_context()
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        raw = run_in_pyodide(page, live_server.url, RUN_CASES)
    finally:
        context.close()
    outside = [url for url in requests if not url.startswith(live_server.url)]
    assert not outside, f"requests left the server: {outside}"
    return json.loads(raw)


def test_runs_real_pyodide(pyodide_results):
    assert pyodide_results["python"].startswith("3.14"), pyodide_results["python"]
    for kind in KINDS:
        names = [result["name"] for result in pyodide_results["results"][kind]]
        assert names == STORE_CASE_NAMES, f"{kind}: the browser ran other cases than CPython"
    names = [result["name"] for result in pyodide_results["store_independent"]]
    assert names == STORE_INDEPENDENT_NAMES, "the browser ran other store-independent cases"


def _failure(result: dict | None, what: str) -> str | None:
    if result is None:
        return f"{what} did not run in Pyodide"
    return None if result["ok"] else f"{what} failed in Pyodide:\n{result['error']}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", STORE_CASE_NAMES)
def test_store_case_in_pyodide(pyodide_results, name, kind):
    by_name = {result["name"]: result for result in pyodide_results["results"][kind]}
    failure = _failure(by_name.get(name), f"{name}[{kind}]")
    assert failure is None, failure


@pytest.mark.parametrize("name", STORE_INDEPENDENT_NAMES)
def test_store_independent_case_in_pyodide(pyodide_results, name):
    by_name = {result["name"]: result for result in pyodide_results["store_independent"]}
    failure = _failure(by_name.get(name), name)
    assert failure is None, failure
