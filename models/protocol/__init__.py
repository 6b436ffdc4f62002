"""The sync protocol, both halves of it: what `RemoteStore` sends and reads, and what the
server reads and answers (docs/PROTOCOL.md). One package, so a message is defined once.

- `limits`: the version and every limit of a sync request;
- `wire`: the wire forms of a document, a change and an outcome;
- `messages`: the request and answer of each endpoint, encoded and checked;
- `errors`: what a request or an answer that is not the protocol raises.

Standard library only, like the rest of `models/`: the browser runs it too.
"""

from .errors import (
    InvalidChangeError,
    InvalidDocError,
    ProtocolError,
    ProtocolMismatchError,
    check_answer_protocol,
    check_protocol,
)
from .limits import (
    DEFAULT_MAX_SYNC_BODY_BYTES,
    MAX_SYNC_DOCS,
    MAX_SYNC_LIMIT,
    MAX_SYNC_VALUES,
    MAX_VALUES_PER_DOC,
    MAX_WIRE_HISTORY,
    PROTOCOL_VERSION,
    SYNC_DEFAULT_LIMIT,
)
from .messages import (
    ChangesPage,
    apply_answer,
    apply_request,
    changes_answer,
    changes_params,
    checkpoint_answer,
    conflicts_answer,
    diff_answer,
    diff_request,
    read_answer_doc,
    read_apply_answer,
    read_apply_request,
    read_changes_answer,
    read_checkpoint_answer,
    read_conflicts_answer,
    read_database,
    read_diff_answer,
    read_diff_request,
    read_protocol_param,
    request_items,
)
from .wire import (
    change_from_wire,
    change_to_wire,
    database_from_wire,
    database_to_wire,
    doc_from_wire,
    doc_to_wire,
    outcome_from_wire,
    outcome_to_wire,
    unacked_from_wire,
)

__all__ = [
    "DEFAULT_MAX_SYNC_BODY_BYTES", "MAX_SYNC_DOCS", "MAX_SYNC_LIMIT", "MAX_SYNC_VALUES",
    "MAX_VALUES_PER_DOC", "MAX_WIRE_HISTORY", "PROTOCOL_VERSION", "SYNC_DEFAULT_LIMIT",
    "ChangesPage", "InvalidChangeError", "InvalidDocError", "ProtocolError",
    "ProtocolMismatchError", "apply_answer", "apply_request", "change_from_wire",
    "change_to_wire", "changes_answer", "changes_params", "check_answer_protocol",
    "check_protocol", "checkpoint_answer", "conflicts_answer", "database_from_wire",
    "database_to_wire", "diff_answer", "diff_request", "doc_from_wire", "doc_to_wire",
    "outcome_from_wire", "outcome_to_wire", "read_answer_doc", "read_apply_answer",
    "read_apply_request", "read_changes_answer", "read_checkpoint_answer",
    "read_conflicts_answer", "read_database", "read_diff_answer", "read_diff_request",
    "read_protocol_param", "request_items", "unacked_from_wire",
]
