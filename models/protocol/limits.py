"""The sync protocol's version and its limits, shared by the server and `RemoteStore`.

docs/PROTOCOL.md ("Limits") says why each limit is where it is.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1  # the `"protocol"` every sync request and answer carries
MAX_SYNC_LIMIT = 5000  # the largest page `/sync/changes` serves
SYNC_DEFAULT_LIMIT = 500  # the page `/sync/changes` serves when no `limit` is asked for
MAX_SYNC_DOCS = 5000  # the most docs (or changes) one `/sync/apply` (or `/sync/diff`) takes
MAX_WIRE_HISTORY = 1000  # a store keeps at most HISTORY_LIMIT (+ the merge base); room to spare

DEFAULT_MAX_SYNC_BODY_BYTES = 16 * 1024 * 1024  # the server's default `max_sync_body_bytes`
# What one sync body may hold, counted before it is parsed (server/body.py): a wire doc is about
# 80 values (its keys, up to 51 history entries, the fields of data and base_data), so 128 each
# leaves room, and a body of millions of tiny items is refused before they exist.
MAX_VALUES_PER_DOC = 128
MAX_SYNC_VALUES = MAX_SYNC_DOCS * MAX_VALUES_PER_DOC + 64

__all__ = ["DEFAULT_MAX_SYNC_BODY_BYTES", "MAX_SYNC_DOCS", "MAX_SYNC_LIMIT", "MAX_SYNC_VALUES",
           "MAX_VALUES_PER_DOC", "MAX_WIRE_HISTORY", "PROTOCOL_VERSION", "SYNC_DEFAULT_LIMIT"]
