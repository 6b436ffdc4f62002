"""The build id (server/build.py): what the server hands browsers, hashed, and where pages and
the service worker read it."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from server import create_app
from server.archive import build_archive
from server.build import build_id
from tests.auth_helpers import client_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def web(tmp_path) -> Path:
    web = tmp_path / "web"
    shutil.copytree(ROOT / "web", web, ignore=shutil.ignore_patterns("vendor", "__pycache__"))
    return web


def test_any_page_or_module_change_makes_a_new_build(web):
    archive = build_archive(ROOT / "models")
    first = build_id(web, archive, note="")
    assert build_id(web, archive, note="") == first  # the same files give the same id
    (web / "app" / "todo_page.py").write_text((web / "app" / "todo_page.py").read_text() + "\n")
    changed = build_id(web, archive, note="")
    assert changed != first
    assert build_id(web, archive, note="second deploy") not in (first, changed)
    (web / "vendor").mkdir()
    (web / "vendor" / "runtime.js").write_text("// the runtime is versioned by its own URL")
    assert build_id(web, archive, note="") == changed


async def test_pages_and_worker_read_the_build(tmp_path, web):
    app = create_app(f"sqlite:///{tmp_path}/build.db", web_dir=web)
    async with app.router.lifespan_context(app), client_of(app) as anon:
        version = await anon.get("/version.json")
        assert version.headers["cache-control"] == "no-store"
        running = await anon.get("/build.json")
        assert running.json() == version.json() == {"build": app.state.build,
                                                     "models": app.state.archive.url}
        manifest = (await anon.get("/offline-manifest.json")).json()
        assert manifest["build"] == app.state.build
        assert {"/build.json", "/manifest.webmanifest", "/icons/icon-192.png",
                "/icons/icon-512.png", "/icons/maskable-512.png",
                "/app/update_prompt.py"} <= set(manifest["urls"])
        config = (await anon.get("/pyscript.json")).json()
        assert config["files"]["/bytecode.zip"] == "./*"
        empty = await anon.get("/bytecode.zip")
        assert empty.headers["content-type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(empty.content)).namelist() == []
        webmanifest = await anon.get("/manifest.webmanifest")
        assert webmanifest.headers["content-type"].startswith("application/manifest+json")
        assert webmanifest.json()["display"] == "standalone"
