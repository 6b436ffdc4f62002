"""A store in a dict: the reference implementation, and the fastest one for tests.

It is the key-value core (`keyvalue.py`) over a dict, the very code the browser's Web Storage
store runs, so every case the tests run on it also exercises what runs in the browser. Entries are
JSON text, so callers always get their own copies.
"""

from __future__ import annotations

from .keyvalue import DictSpace, KeyValueAdapter
from .local import LocalStore


class MemoryStore(LocalStore):
    def __init__(self) -> None:
        super().__init__(KeyValueAdapter(DictSpace()))
