"""Stores: where documents live. Each speaks the interface in `base`; none knows about the others.

`SQLiteStore` is imported from `models.stores.sqlite` on its own, because Pyodide's core has no
`sqlite3` module.
"""

from .base import Document, Store
from .memory import MemoryStore
from .remote import RemoteStore
from .webstorage import DictStorage, WebStorageStore

__all__ = ["DictStorage", "Document", "MemoryStore", "RemoteStore", "Store", "WebStorageStore"]
