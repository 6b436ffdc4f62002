"""Stores: where documents live. `Store` (store.py) is the interface models and replication speak;
`LocalStore` (local.py) keeps its rules over an `Adapter` (adapter.py), which is all a database
implements: the key-value core (keyvalue.py) under `MemoryStore` and `WebStorageStore`, and
`SQLiteStore`. `RemoteStore` speaks the sync protocol to a server. None knows about the others.
The key-value core writes the compact entry (compact.py, with packing.py's short forms of ids,
revisions and stamps); Web Storage adds the short namespace (namespace.py) and the move of the
earlier layout (relayout.py, reading codec.py's earlier entries).

`SQLiteStore` is imported from `models.stores.sqlite` on its own, because Pyodide's core has no
`sqlite3` module.
"""

from ..document import Document
from .adapter import Adapter, Transaction
from .local import LocalStore
from .memory import MemoryStore
from .remote import RemoteStore
from .store import Store
from .webstorage import DictStorage, WebStorageStore

__all__ = ["Adapter", "DictStorage", "Document", "LocalStore", "MemoryStore", "RemoteStore",
           "Store", "Transaction", "WebStorageStore"]
