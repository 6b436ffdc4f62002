"""offsync's shared business objects: the same files run on the server and in the browser.

Standard library only. Whatever touches the environment (a Storage object, an HTTP transport,
a clock) is handed in, never imported.
"""

from .access import (
    ALL,
    ALLOW,
    AUTHENTICATED,
    DENY,
    EDITOR,
    EVERYONE,
    OWNER,
    READ,
    REPLICATE,
    VIEWER,
    WRITE,
    AccessRule,
)
from .changes import Change, ChangeType
from .checkpoints import Checkpoints
from .conflict import Conflict, stored_conflicts
from .document import Document
from .errors import (
    AccessDeniedError,
    AuthenticationError,
    CheckpointExpiredError,
    ConflictError,
    CorruptEntryError,
    DatabaseChangedError,
    FilterError,
    NotFoundError,
    OffsyncError,
    StorageFullError,
    TransportError,
    ValidationError,
)
from .fields import Boolean, Date, DateTime, Field, Integer, Number, Roles, String
from .model import Model
from .outcome import Outcome
from .reconcile import three_way_merge
from .registry import MODELS
from .replication import ReplicationResult, SyncResult, replicate, sync
from .stores import DictStorage, MemoryStore, RemoteStore, Store, WebStorageStore
from .todo import Todo
from .todo_list import TodoList, default_list_id
from .transport import Response, Transport

__all__ = [
    "ALL", "ALLOW", "AUTHENTICATED", "DENY", "EVERYONE", "OWNER", "READ", "REPLICATE", "WRITE",
    "AccessRule", "Change", "ChangeType", "Checkpoints", "Conflict", "stored_conflicts",
    "AccessDeniedError", "AuthenticationError", "CheckpointExpiredError", "ConflictError",
    "CorruptEntryError", "DatabaseChangedError",
    "FilterError", "NotFoundError", "OffsyncError", "StorageFullError", "TransportError",
    "ValidationError", "Boolean", "Date", "DateTime", "Field", "Integer", "Number", "String",
    "Model",
    "three_way_merge", "ReplicationResult", "SyncResult", "replicate", "sync", "DictStorage",
    "MemoryStore", "RemoteStore", "Store", "WebStorageStore", "Document", "Outcome", "Todo",
    "TodoList", "default_list_id", "Roles", "EDITOR", "VIEWER",
    "Response", "Transport", "MODELS",
]
