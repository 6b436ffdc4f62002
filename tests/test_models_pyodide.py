"""The shared model cases (`tests/model_cases.py`) run again inside Pyodide in real Chromium.

One browser session loads Pyodide from the server's local runtime, unpacks the `models` archive the
server serves (the very bytes pages get), and runs every case against three stores: memory, Web
Storage over a dict, and the browser's real `window.localStorage`. Each (case, store) pair is then
reported as its own pytest test, so a package that only works on CPython cannot pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import model_cases

pytestmark = pytest.mark.browser

KINDS = ("memory", "webstorage-dict", "localstorage")
CASE_NAMES = [case.__name__ for case in model_cases.CASES]

RUNNER = r"""
async ({archive, cases}) => {
  const { loadPyodide } = await import('/vendor/pyodide/pyodide.mjs');
  const py = await loadPyodide({ indexURL: '/vendor/pyodide/' });
  const response = await fetch(archive);
  if (!response.ok) throw new Error('models archive: HTTP ' + response.status);
  py.unpackArchive(await response.arrayBuffer(), 'zip');
  py.FS.writeFile('/home/pyodide/model_cases.py', cases);
  return await py.runPythonAsync(`
import json, sys
import js
import model_cases
from models import DictStorage, MemoryStore, WebStorageStore

def real_local_storage():
    js.window.localStorage.clear()
    return WebStorageStore(js.window.localStorage, app="cases")

makers = {
    "memory": MemoryStore,
    "webstorage-dict": lambda: WebStorageStore(DictStorage()),
    "localstorage": real_local_storage,
}
results = {kind: await model_cases.run_all(make) for kind, make in makers.items()}
json.dumps({"python": sys.version, "results": results})
`);
}
"""


@pytest.fixture(scope="module")
def pyodide_results(browser, live_server):
    context = browser.new_context()
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(live_server.url + "/api/docs")
        archive = page.evaluate("async () => (await (await fetch('/pkg/models.json')).json()).url")
        cases = Path(model_cases.__file__).read_text()
        raw = page.evaluate(RUNNER, {"archive": archive, "cases": cases})
    finally:
        context.close()
    outside = [url for url in requests if not url.startswith(live_server.url)]
    assert not outside, f"requests left the server: {outside}"
    return json.loads(raw)


def test_runs_real_pyodide(pyodide_results):
    assert pyodide_results["python"].startswith("3.14"), pyodide_results["python"]
    for kind in KINDS:
        names = [result["name"] for result in pyodide_results["results"][kind]]
        assert names == CASE_NAMES, f"{kind}: the browser ran other cases than CPython collects"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_in_pyodide(pyodide_results, name, kind):
    by_name = {result["name"]: result for result in pyodide_results["results"][kind]}
    result = by_name.get(name)
    assert result is not None, f"{name} did not run in Pyodide"
    assert result["ok"], f"{name}[{kind}] failed in Pyodide:\n{result['error']}"
