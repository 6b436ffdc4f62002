"""Every Web Storage entry under a prefix, read in one call to the browser: a Web Storage
look-alike (`models.stores.webstorage.StorageLike`) for reading a whole store at once.

Reading 10,000 todos through `localStorage` itself costs some 30,000 Pyodide→JS calls (a key, a
value, per entry); one JavaScript loop that hands back all of them as one JSON text costs a
fraction of that. A `WebStorageStore` over the snapshot reads exactly what the real one would
(the same code, the same format); writes stay in the snapshot, so nothing done with it ever
reaches the browser's storage. Keys outside the prefix are read from the storage itself: the
records naming other apps' namespaces, which opening a store consults (models/stores/namespace.py).
"""

from __future__ import annotations

import json

from pyodide.code import run_js

_DUMP = run_js("""(storage, prefix) => {
  const out = {};
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (key !== null && key.startsWith(prefix)) out[key] = storage.getItem(key);
  }
  return JSON.stringify(out);
}""")


class StorageSnapshot:
    """The entries of `storage` under `prefix` as they were when it was taken."""

    def __init__(self, storage, prefix: str) -> None:
        self.items: dict[str, str] = json.loads(_DUMP(storage, prefix))
        self._names = list(self.items)
        self.storage, self.prefix = storage, prefix

    @property
    def length(self) -> int:
        return len(self._names)

    def key(self, index: int) -> str | None:
        return self._names[index] if 0 <= index < len(self._names) else None

    def getItem(self, key: str) -> str | None:
        if key.startswith(self.prefix) or key in self.items:
            return self.items.get(key)
        found = self.storage.getItem(key)
        return found if isinstance(found, str) else None

    def setItem(self, key: str, value: str) -> None:
        if key not in self.items:
            self._names.append(key)
        self.items[key] = str(value)

    def removeItem(self, key: str) -> None:
        if self.items.pop(key, None) is not None:
            self._names.remove(key)
