"""The API described twice from one source: `/openapi.json` for machines, `/api/docs` for people.

One convention: every endpoint module of `server/` has its description here, in the module of
the same name (`rest.py`, `sync.py`, `auth.py`; `page.py` for the docs page itself), exporting
its `paths` and its schemas; `build_spec` assembles them. Endpoint modules hold no OpenAPI.
Model schemas come from the models' fields (`schemas.py`). `tests/test_rest.py` checks every
route under `/api` appears here, so a route added without documentation fails the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.model import Model

from . import auth, people, rest, sync
from .common import ERROR_SCHEMA, error_responses, errors
from .page import DOCS_PATHS, render_docs, routes


def build_spec(models: Mapping[str, type[Model]], *, title: str = "offsync") -> dict[str, Any]:
    paths: dict[str, Any] = {**sync.CHECKPOINT_PATHS, **DOCS_PATHS, **auth.paths(),
                            **people.paths()}
    schemas: dict[str, Any] = {**sync.SCHEMAS, **auth.SCHEMAS, "Error": ERROR_SCHEMA}
    for collection, model in models.items():
        schemas.update(rest.schemas(model))
        paths.update(rest.paths(collection, model))
        paths.update(sync.paths(collection))
    for path, operations in paths.items():
        if path.startswith("/api/") and not path.startswith(("/api/auth/", "/api/docs")):
            for operation in operations.values():  # every model route needs a session
                for status in ("401", "403"):
                    operation["responses"].setdefault(status, errors(status)[status])
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "0.1.0",
                 "description": "LoopBack-style REST over offsync models. Errors are "
                                '{"error": {"status", "code", "message", "details"}}. Every '
                                "route but /api/auth/* and /api/docs needs a session (log in "
                                "with POST /api/auth/login); writes also need the X-CSRF-Token "
                                "header (docs/AUTH.md)."},
        "paths": paths,
        "components": {"schemas": schemas, "responses": error_responses()},
    }


__all__ = ["build_spec", "render_docs", "routes"]
