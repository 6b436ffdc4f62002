"""offsync's server: the models as LoopBack-style REST, the pages, the models archive, the CLI,
and `open_store(url)`, the store a database or server URL names."""

from .app import create_app
from .stores import open_store, register_scheme

__all__ = ["create_app", "open_store", "register_scheme"]
