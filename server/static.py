"""The pages: `web/` served at `/`, and `/debug` for the debug page.

Registers the MIME types Pyodide needs (`.mjs` modules and `.wasm` must not be guessed as
`application/octet-stream`, or the browser refuses them). `web/vendor/` (the runtime) is installed
separately and may be missing: that is a 404, never a crash.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from models.errors import NotFoundError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
WEB_DIR_ENV = "OFFSYNC_WEB_DIR"  # another copy of the pages (a deployment, or a test's new build)


def default_web_dir() -> Path:
    return Path(os.environ.get(WEB_DIR_ENV) or WEB_DIR)


mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/manifest+json", ".webmanifest")


# compiled modules, kept by the page itself (web/app/bytecode_cache.py)
BYTECODE_URL = "/bytecode.zip"
EMPTY_ZIP = b"PK\x05\x06" + bytes(18)


def pyscript_config(web_dir: Path, archive_url: str) -> dict:
    """PyScript's config for every page: the local Pyodide (never a CDN), the `models` archive
    unpacked into Python's working directory, and the pages' own Python modules from `web/app/`."""
    files = {archive_url: "./*", BYTECODE_URL: "./*"}
    for module in sorted((web_dir / "app").glob("*.py")):
        files[f"/app/{module.name}"] = f"./{module.name}"
    return {"interpreter": "/vendor/pyodide/pyodide.mjs", "files": files}


RUNTIME_FILES = {
    "pyodide": ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                "pyodide-lock.json"],
}


def offline_manifest(web_dir: Path, archive_url: str, build: str = "") -> dict:
    """What the service worker precaches so the app starts with the server unreachable: the
    files of one build (kept together in one cache, web/sw.js) and the runtime under /vendor/."""
    urls = ["/", "/debug", "/pyscript.json", "/build.json", archive_url]
    urls += [f"/{p.name}" for p in sorted(web_dir.glob("*.css"))]
    urls += [f"/{p.name}" for p in sorted(web_dir.glob("*.webmanifest"))]
    urls += [f"/icons/{p.name}" for p in sorted((web_dir / "icons").glob("*"))
             if p.suffix in (".png", ".svg")]
    urls += [f"/app/{p.name}" for p in sorted((web_dir / "app").glob("*.py"))]
    vendor = web_dir / "vendor"
    urls += [f"/vendor/pyodide/{name}" for name in RUNTIME_FILES["pyodide"]
             if (vendor / "pyodide" / name).is_file()]
    urls += [f"/vendor/pyscript/{p.name}" for p in sorted((vendor / "pyscript").glob("*"))
             if p.suffix in (".js", ".css")]
    return {"build": build, "urls": urls}


def routes(web_dir: Path = WEB_DIR, archive_url: str = "", build: str = "") -> list[BaseRoute]:
    """`/debug`, `/pyscript.json` and the static mount (last: it matches every path)."""

    async def config(request: Request) -> JSONResponse:
        return JSONResponse(
            pyscript_config(web_dir, archive_url), headers={"Cache-Control": "no-cache"}
        )

    async def manifest(request: Request) -> JSONResponse:
        return JSONResponse(
            offline_manifest(web_dir, archive_url, build), headers={"Cache-Control": "no-cache"}
        )

    async def debug_page(request: Request) -> FileResponse:
        page = web_dir / "debug.html"
        if not page.is_file():
            raise NotFoundError("there is no debug page (web/debug.html)")
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    async def no_bytecode(request: Request) -> Response:
        """The server compiles nothing (its Python is not the page's): an empty archive, until
        the page has put its own in the service worker's cache."""
        return Response(EMPTY_ZIP, media_type="application/zip",
                        headers={"Cache-Control": "no-store"})

    out: list[BaseRoute] = [
        Route(BYTECODE_URL, no_bytecode, methods=["GET"], include_in_schema=False),
        Route("/debug", debug_page, methods=["GET"], include_in_schema=False),
        Route("/pyscript.json", config, methods=["GET"], include_in_schema=False),
        Route("/offline-manifest.json", manifest, methods=["GET"], include_in_schema=False),
    ]
    if web_dir.is_dir():
        out.append(Mount("/", app=StaticFiles(directory=web_dir, html=True), name="web"))
    return out
