"""offsync's shared business objects: the same files run on the server and in the browser.

Standard library only. Whatever touches the environment (a Storage object, an HTTP transport,
a clock) is handed in, never imported.
"""

from .access import (
                     ALL,
                     ALLOW,
                     AUTHENTICATED,
                     DENY,
                     EVERYONE,
                     OWNER,
                     READ,
                     REPLICATE,
                     WRITE,
                     AccessRule,
)
from .changes import Change, ChangeType
from .errors import (
                     AccessDeniedError,
                     ConflictError,
                     CorruptEntryError,
                     FilterError,
                     NotFoundError,
                     OffsyncError,
                     StorageFullError,
                     TransportError,
                     ValidationError,
)
from .fields import Boolean, DateTime, Field, Integer, Number, String
from .model import Model
from .stores import DictStorage, MemoryStore, RemoteStore, Store, WebStorageStore
from .todo import Todo
from .transport import Response, Transport

MODELS: dict[str, type[Model]] = {Todo.collection: Todo}

__all__ = [
                     "ALL",
                     "ALLOW",
                     "AUTHENTICATED",
                     "DENY",
                     "EVERYONE",
                     "MODELS",
                     "OWNER",
                     "READ",
                     "REPLICATE",
                     "WRITE",
                     "AccessDeniedError",
                     "AccessRule",
                     "Boolean",
                     "Change",
                     "ChangeType",
                     "ConflictError",
                     "CorruptEntryError",
                     "DateTime",
                     "DictStorage",
                     "Field",
                     "FilterError",
                     "Integer",
                     "MemoryStore",
                     "Model",
                     "NotFoundError",
                     "Number",
                     "OffsyncError",
                     "RemoteStore",
                     "Response",
                     "StorageFullError",
                     "Store",
                     "String",
                     "Todo",
                     "Transport",
                     "TransportError",
                     "ValidationError",
                     "WebStorageStore",
]
