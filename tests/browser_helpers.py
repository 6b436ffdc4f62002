"""What the browser tests do over and over: open a page and wait for Python, add a todo, read
the list, wait for a sync, ask the server directly, run Python in a bare Pyodide."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

BOOT_TIMEOUT = 90_000  # ms; Pyodide starts in a few seconds, shared CI machines can be slow
SYNC_TIMEOUT = 30_000


def open_page(page, url: str, navigate: bool = True) -> None:
    if navigate:
        page.goto(url)
    page.wait_for_selector('[data-testid="app-ready"]', state="attached", timeout=BOOT_TIMEOUT)
    errors = page.locator(".py-error").all_inner_texts()
    assert not errors, errors


@dataclass
class Account:
    username: str
    password: str
    id: str = ""  # the server's user id, known once registered


def sign_up(page, url: str, username: str | None = None) -> Account:
    """Register through the real form; the server logs the new user in and opens the app."""
    account = Account(username or f"user-{secrets.token_hex(4)}", "correct horse battery")
    page.goto(url + "/register")
    page.get_by_test_id("register-username").fill(account.username)
    page.get_by_test_id("register-password").fill(account.password)
    page.get_by_test_id("register-submit").click()
    page.wait_for_url(url + "/")
    open_page(page, url + "/", navigate=False)
    account.id = page.evaluate(
        "async () => (await (await fetch('/api/auth/session')).json()).user.id")
    return account


def log_in(page, url: str, account: Account) -> None:
    page.goto(url + "/login")
    page.get_by_test_id("login-username").fill(account.username)
    page.get_by_test_id("login-password").fill(account.password)
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(url + "/")
    open_page(page, url + "/", navigate=False)


def add_todo(page, title: str) -> None:
    before = page.get_by_test_id("todo-item").count()
    field = page.get_by_test_id("new-todo")
    field.fill(title)
    field.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=todo-item]').length > n", arg=before
    )


def titles(page) -> list[str]:
    return page.get_by_test_id("todo-title").all_inner_texts()


def wait_synced(page) -> None:
    """Until nothing is pending and the last sync finished without error."""
    page.wait_for_function(
        """() => document.querySelector('[data-testid=pending-count]').textContent === '0'
              && document.querySelector('[data-testid=sync-status]').textContent === 'idle'""",
        timeout=SYNC_TIMEOUT,
    )


def sync_now(page) -> None:
    page.get_by_test_id("sync-button").click()
    wait_synced(page)


def server_todos(page, url: str) -> list[dict]:
    """The todos the server holds for the page's user (asked with the page's session)."""
    response = page.request.get(url + "/api/todos")
    assert response.ok, response.text()
    return response.json()


MODEL_CASES = Path(__file__).resolve().parent / "model_cases"

PYODIDE_RUNNER = r"""
async ({files, code}) => {
  const { loadPyodide } = await import('/vendor/pyodide/pyodide.mjs');
  const py = await loadPyodide({ indexURL: '/vendor/pyodide/' });
  const current = await (await fetch('/pkg/models.json')).json();
  const response = await fetch(current.url);
  if (!response.ok) throw new Error('models archive: HTTP ' + response.status);
  py.unpackArchive(await response.arrayBuffer(), 'zip');
  for (const [path, text] of Object.entries(files)) {
    py.FS.mkdirTree('/home/pyodide/' + path.split('/').slice(0, -1).join('/'));
    py.FS.writeFile('/home/pyodide/' + path, text);
  }
  return await py.runPythonAsync(code);
}
"""


def model_case_files() -> dict[str, str]:
    """The shared model cases as files for Pyodide's file system: `model_cases/<module>.py`."""
    return {f"model_cases/{path.name}": path.read_text()
            for path in sorted(MODEL_CASES.glob("*.py"))}


def run_in_pyodide(page, url: str, code: str):
    """Start Pyodide from the server's local runtime on a page without the app, unpack the
    `models` archive the server serves (the very bytes pages get) and the shared model cases
    (importable as `model_cases`), and run `code`: the value of its last expression."""
    page.goto(url + "/api/docs")
    return page.evaluate(PYODIDE_RUNNER, {"files": model_case_files(), "code": code})


def user_prefix(user_id: str) -> str:
    """The localStorage prefix of a user's todo store (web/app/app_state.py binds the app
    `todo:<user id>`; models/stores/namespace.py makes it short; no other app collides in a
    test browser, so it is the first candidate)."""
    from models.stores.namespace import candidate

    return candidate(f"todo:{user_id}")


def stored_docs(entries: dict[str, str], prefix: str, model: str = "todos") -> dict[str, dict]:
    """The documents among a user's localStorage entries, spelled out by id (what the debug
    page shows: `KeyValueAdapter.explain`)."""
    from models.stores.keyvalue import DictSpace, KeyValueAdapter

    space = DictSpace()
    space.items.update(entries)
    adapter = KeyValueAdapter(space, prefix)
    out = {}
    for key, raw in entries.items():
        name, value = adapter.explain(key, raw) if key.startswith(prefix) else (key, raw)
        if name.startswith(f"{model}:doc:"):
            out[name[len(f"{model}:doc:"):]] = value
    return out


def edit_title(page, old: str, new: str) -> None:
    """Double-click the todo titled `old`, type `new`, Enter; wait for the edit box to close."""
    page.locator("[data-testid=todo-title]", has_text=old).dblclick()
    page.get_by_test_id("todo-edit").fill(new)
    page.get_by_test_id("todo-edit").press("Enter")
    page.wait_for_function("() => !document.querySelector('[data-testid=todo-edit]')")
