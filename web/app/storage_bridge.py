"""Many `localStorage` calls as one call from Pyodide to JavaScript: the `StorageBatch` the local
store commits its transactions through (models/stores/webstorage.py).

Each Pyodide→JS call costs tens of microseconds; a transaction of 10,000 todos (toggle all)
reads and writes some 30,000 keys. Here they cross as one JSON text each way, and the loop runs
in JavaScript. The bridge is thin: it does the calls in order and says how far it got and what
refused the next one; what to put back after a refusal is decided in Python, by the store.
"""

from __future__ import annotations

import json

from pyodide.code import run_js

_GET_MANY = run_js("""(storage, keys) => {
  const names = JSON.parse(keys), out = new Array(names.length);
  for (let i = 0; i < names.length; i++) out[i] = storage.getItem(names[i]);
  return JSON.stringify(out);
}""")

_WRITE_MANY = run_js("""(storage, steps) => {
  const list = JSON.parse(steps);
  for (let i = 0; i < list.length; i++) {
    const [key, value] = list[i];
    try {
      if (value === null) storage.removeItem(key); else storage.setItem(key, value);
    } catch (e) {
      return JSON.stringify([i, String(e && e.name || 'Error'), String(e && e.message || e)]);
    }
  }
  return JSON.stringify([list.length]);
}""")


class StorageError(Exception):
    """What the browser threw for one step, under its name (`QuotaExceededError`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class StorageBridge:
    """`StorageBatch` over a Web Storage object of the page (`window.localStorage`)."""

    def __init__(self, storage) -> None:
        self.storage = storage

    def get_many(self, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        return json.loads(_GET_MANY(self.storage, json.dumps(keys, ensure_ascii=False)))

    def write_many(self, steps: list[tuple[str, str | None]]) -> tuple[int, Exception | None]:
        if not steps:
            return 0, None
        answer = json.loads(_WRITE_MANY(self.storage, json.dumps(steps, ensure_ascii=False)))
        if len(answer) == 1:
            return answer[0], None
        done, name, message = answer
        return done, StorageError(name, message)
