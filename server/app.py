"""The application factory: one database, every model bound to it, and every route.

The database is opened by the lifespan (not at import or in `create_app`), so an app object can be
built, inspected and tested without touching the disk, and a worker process opens its own
connection.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

import models
from models.migrations import check_models
from models.model import Model
from models.protocol import DEFAULT_MAX_SYNC_BODY_BYTES
from models.stores import Store
from models.stores.local import LocalStore
from models.stores.migrate import migrate_store

from . import (
    archive,
    auth,
    auth_pages,
    build,
    live,
    openapi,
    people,
    rest,
    static,
    sync,
    unknown_model,
)
from .accounts import Accounts
from .body import DEFAULT_MAX_BODY_BYTES
from .csrf import CSRFMiddleware
from .errors import EXCEPTION_HANDLERS
from .ratelimit import RateLimiter
from .sessions import DEFAULT_TTL_SECONDS, SessionMiddleware, Sessions
from .stores import database_of, open_store, parse_database_url, scheme_of
from .url_check import URLCheckMiddleware

DEFAULT_DATABASE_URL = "sqlite:///data/offsync.db"
# A person registers once or twice; a script creating accounts by the thousand meets this.
DEFAULT_REGISTER_ATTEMPTS = 10
DEFAULT_REGISTER_WINDOW_SECONDS = 3600


def create_app(
    database_url: str = DEFAULT_DATABASE_URL,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_sync_body_bytes: int = DEFAULT_MAX_SYNC_BODY_BYTES,
    web_dir: Path | None = None,
    models_map: Mapping[str, type[Model]] | None = None,
    session_ttl_seconds: float = DEFAULT_TTL_SECONDS,
    login_attempts: int = 5,
    login_window_seconds: float = 900,
    register_attempts: int = DEFAULT_REGISTER_ATTEMPTS,
    register_window_seconds: float = DEFAULT_REGISTER_WINDOW_SECONDS,
) -> Starlette:
    """The offsync server. `web_dir` (the static files) defaults to the repository's `web/`;
    `models_map` to
    `models.MODELS`. `max_body_bytes` limits REST bodies (one document), `max_sync_body_bytes`
    the sync endpoints' bodies (a batch of up to 5000 documents; 16 MiB by default).
    Sessions last `session_ttl_seconds`; `login_attempts` failed log-ins of one username from
    one address within `login_window_seconds` lock that pair out until the window passes;
    one client address may attempt `register_attempts` registrations within
    `register_window_seconds` (docs/AUTH.md)."""
    scheme = scheme_of(database_url, database=True)  # a bad URL fails here, before serving
    path = parse_database_url(database_url) if scheme.name == "sqlite" else None
    model_classes = dict(models.MODELS if models_map is None else models_map)
    check_models(model_classes.values())  # an unmigratable model change is refused here

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(database_url) as store:
            app.state.store = store
            hub = live.LiveHub(model_classes, live.relay_of(store), store)
            try:
                await serve_with(app, store)
                await hub.start()
                app.state.live = hub
                yield
            finally:
                app.state.live = None
                await hub.stop()
                app.state.store = None
                app.state.models = {}
                app.state.accounts = None
                app.state.sessions = None

    async def serve_with(app: Starlette, store: Store) -> None:
        if isinstance(store, LocalStore):  # documents of older model versions, at start-up
            await migrate_store(store, model_classes.values())
        app.state.models = {name: model.using(store) for name, model in model_classes.items()}
        # users, sessions and the limiters live in the same database (server/database.py)
        db = database_of(store)
        app.state.accounts = Accounts(db)
        app.state.sessions = Sessions(db, session_ttl_seconds)
        app.state.login_limiter = RateLimiter(db, "login", login_attempts, login_window_seconds,
                                              "failed log-ins")
        app.state.register_limiter = RateLimiter(db, "register", register_attempts,
                                                 register_window_seconds,
                                                 "registrations from this address")
        app.state.lookup_limiter = RateLimiter(db, "lookup", people.LOOKUP_ATTEMPTS,
                                               people.LOOKUP_WINDOW_SECONDS, "username look-ups")
        for table in (app.state.accounts, app.state.sessions, app.state.login_limiter):
            await table.create_schema()

    package = archive.build_archive(Path(models.__file__).resolve().parent)
    pages_dir = static.default_web_dir() if web_dir is None else web_dir
    build_id = build.build_id(pages_dir, package)
    spec = openapi.build_spec(model_classes)
    routes: list[BaseRoute] = [
        *auth.routes(),
        *auth_pages.routes(),
        *people.routes(),
        *rest.routes(model_classes, max_body_bytes),
        *sync.routes(model_classes, max_sync_body_bytes),
        *live.routes(),
        *openapi.routes(spec),
        *archive.routes(package),
        *build.routes(build_id, package),
    ]
    owned = {
        route.path.split("/")[2]
        for route in routes
        if isinstance(route, Route) and route.path.startswith("/api/")
    }
    routes += unknown_model.routes(owned)
    routes += static.routes(pages_dir, package.url, build_id)

    # URLs that are not UTF-8 are refused first; SessionMiddleware finds the user; CSRFMiddleware
    # then checks writes against it
    middleware = [Middleware(URLCheckMiddleware), Middleware(SessionMiddleware),
                  Middleware(CSRFMiddleware)]
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan,
                    middleware=middleware)
    app.state.database_url = database_url
    app.state.database_path = path
    app.state.collections = sorted(model_classes)
    app.state.archive = package
    app.state.build = build_id
    app.state.openapi = spec
    app.state.max_sync_body_bytes = max_sync_body_bytes
    app.state.store = None
    app.state.live = None
    app.state.accounts = None
    app.state.sessions = None
    app.state.login_limiter = None
    app.state.register_limiter = None
    app.state.lookup_limiter = None
    return app


ENVIRONMENT = {"database_url": "OFFSYNC_DATABASE_URL",
               "register_attempts": "OFFSYNC_REGISTER_ATTEMPTS",
               "register_window_seconds": "OFFSYNC_REGISTER_WINDOW_SECONDS"}


def app_environment(database_url: str, register_attempts: int,
                    register_window_seconds: float) -> dict[str, str]:
    """The environment `app_from_environment` reads: how `offsync serve --workers N` hands its
    arguments to processes that import the app by name."""
    return {ENVIRONMENT["database_url"]: database_url,
            ENVIRONMENT["register_attempts"]: str(register_attempts),
            ENVIRONMENT["register_window_seconds"]: str(register_window_seconds)}


def app_from_environment() -> Starlette:
    """`create_app` with the arguments in the environment (`app_environment`), for uvicorn's
    `factory=True` in each worker process, or any ASGI server started by name."""
    env = os.environ
    return create_app(
        env.get(ENVIRONMENT["database_url"], DEFAULT_DATABASE_URL),
        register_attempts=int(env.get(ENVIRONMENT["register_attempts"],
                                      DEFAULT_REGISTER_ATTEMPTS)),
        register_window_seconds=float(env.get(ENVIRONMENT["register_window_seconds"],
                                              DEFAULT_REGISTER_WINDOW_SECONDS)))

