"""The PostgreSQL schema: the SQLite store's tables with jsonb bodies, created if missing on open.

`documents` holds each document's current state; its `checkpoint` is the sequence number of its
last change, so a feed walks `(model, checkpoint)` (or `(model, owner, checkpoint)` for one
user's) and costs what changed. `conflicts` has the same columns. `meta` keeps the sequence
number (`seq`, the single counter row every write transaction locks first, see
docs/PROTOCOL.md "Checkpoints with concurrent writers") and `LocalStore`'s marks (`mark:<name>`).
Identifiers compare by code point (`COLLATE "C"`), as they do in every other store.
"""

from __future__ import annotations

from psycopg import AsyncConnection

# Any number that no other part of a deployment uses for pg_advisory_xact_lock: several server
# processes starting at once must not race each other's CREATE TABLE IF NOT EXISTS.
SCHEMA_LOCK = 0x0FF5_1C00

COLUMNS = """
    model text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    rev text COLLATE "C" NOT NULL,
    checkpoint bigint NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    type text NOT NULL,
    data jsonb,
    history jsonb NOT NULL DEFAULT '[]',
    base_rev text COLLATE "C",
    base_data jsonb,
    owner text COLLATE "C",
    unacked jsonb,
    PRIMARY KEY (model, id)
"""
STATEMENTS = (
    f"CREATE TABLE IF NOT EXISTS documents ({COLUMNS})",
    "CREATE UNIQUE INDEX IF NOT EXISTS documents_by_checkpoint ON documents (model, checkpoint)",
    "CREATE INDEX IF NOT EXISTS documents_by_owner ON documents (model, owner, checkpoint)",
    f"CREATE TABLE IF NOT EXISTS conflicts ({COLUMNS})",
    "CREATE TABLE IF NOT EXISTS meta (key text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL)",
    "INSERT INTO meta (key, value) VALUES ('seq', 0) ON CONFLICT (key) DO NOTHING",
)
NAMES = ("model", "id", "rev", "checkpoint", "deleted", "type", "data", "history", "base_rev",
         "base_data", "owner", "unacked")


async def create_schema(conn: AsyncConnection) -> None:
    """Create what is missing, in one transaction, one process at a time."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        for statement in STATEMENTS:
            await conn.execute(statement)
