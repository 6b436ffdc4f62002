"""Model versions in the page: the local store migrated at start-up, and the server's "update
required" answer turned into one DOM event the update prompt listens to.

At start, before anything reads or writes the local store, `open_local_store` checks the models
(a change that cannot be migrated stops the page with a message naming the model and version)
and migrates what older code stored (documents, unsynced edits, merge bases, conflicts), page by
page, showing the progress in the loading state (docs/ARCHITECTURE.md, "Changing a model").

When a pull is refused because the server runs newer models (409 UPDATE_REQUIRED), the sync
controller calls `announce_update_required`: it sets `window.offsyncUpdateRequired` (the error's
details: model, client_version, server_version) and dispatches the event
`offsync:update-required` on `window` with the same details. The page's update prompt ("A new
version is ready", reload) listens to it; a listener that starts later reads the flag.

The same event fires when another tab of this browser migrated the local store to a newer
version than this tab runs (`watch_other_tabs`: the store's mark `version:<model>` changed in a
`storage` event): this tab's code is then the older one and must reload before it writes again.
"""

from __future__ import annotations

import json

import js
from app_state import MODELS, UserData
from dom import by_testid
from pyodide.ffi import create_proxy, to_js

from models.errors import ModelVersionError, UpdateRequiredError
from models.migrations import check_models
from models.stores.migrate import VERSION_MARK, migrate_store

UPDATE_EVENT = "offsync:update-required"
UPDATE_FLAG = "offsyncUpdateRequired"


def _show(text: str) -> None:
    loading = by_testid("loading")
    if loading:
        loading.textContent = text


async def open_local_store(data: UserData) -> bool:
    """Migrate the user's local store to this code's model versions; False (with the reason on
    the page) when it cannot be, in which case nothing was written and the page must not start."""

    def progress(model: str, done: int, total: int) -> None:
        if total:
            _show(f"Updating your saved {model}: {done:,} of {total:,}")

    try:
        check_models(MODELS)
        await migrate_store(data.local, MODELS, on_progress=progress)
        watch_other_tabs(data)
    except ModelVersionError as exc:
        js.console.error(f"offsync: {exc.message}")
        _show(f"This version of the app cannot open your saved data: {exc.message}")
        error = by_testid("error-message")
        if error:
            error.textContent = exc.message
            error.hidden = False
        return False
    return True


def announce_update_required(exc: UpdateRequiredError) -> None:
    """Tell the page the server runs newer models than this code: flag and event."""
    details = {"message": exc.message, **exc.details}
    value = to_js(json.loads(json.dumps(details)), dict_converter=js.Object.fromEntries)
    setattr(js.window, UPDATE_FLAG, value)
    event = js.CustomEvent.new(UPDATE_EVENT, to_js({"detail": value},
                                                   dict_converter=js.Object.fromEntries))
    js.window.dispatchEvent(event)


def watch_other_tabs(data: UserData) -> None:
    """Announce an update when another tab moves the local store past this code's versions."""
    versions = {data.local.adapter.mark_key(VERSION_MARK + model.collection): model
                for model in MODELS}

    def changed(event) -> None:
        model = versions.get(event.key)
        try:
            stored = int(event.newValue) if model is not None and event.newValue else 0
        except ValueError:
            return
        if model is not None and stored > model.version:
            announce_update_required(UpdateRequiredError(
                f"another tab runs {model.__name__} version {stored}, this one version "
                f"{model.version}: reload to update",
                {"model": model.__name__, "collection": model.collection,
                 "client_version": model.version, "server_version": stored}))

    proxy = create_proxy(changed)
    _listeners.append(proxy)  # kept alive for the page's lifetime
    js.window.addEventListener("storage", proxy)


_listeners: list = []

__all__ = ["UPDATE_EVENT", "UPDATE_FLAG", "announce_update_required", "open_local_store",
           "watch_other_tabs"]
