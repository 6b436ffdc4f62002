"""offsync on PostgreSQL: `PostgresStore` (adapter.py) for several server processes on one
database, its tables (schema.py) and its queries over jsonb (query.py)."""

from .adapter import PostgresAdapter, PostgresStore, PostgresTransaction

__all__ = ["PostgresAdapter", "PostgresStore", "PostgresTransaction"]
