"""offsync's server: the models as LoopBack-style REST, the pages, the models archive, the CLI."""

from .app import create_app

__all__ = ["create_app"]
