"""The pages: `web/` served at `/`, and `/debug` for the debug page.

Registers the MIME types Pyodide needs (`.mjs` modules and `.wasm` must not be guessed as
`application/octet-stream`, or the browser refuses them). `web/vendor/` (the runtime) is installed
separately and may be missing: that is a 404, never a crash.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from models.errors import NotFoundError

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")


def routes(web_dir: Path = WEB_DIR) -> list[BaseRoute]:
    """`/debug` and the static mount; the mount goes last because it matches every path."""

    async def debug_page(request: Request) -> FileResponse:
        page = web_dir / "debug.html"
        if not page.is_file():
            raise NotFoundError("there is no debug page (web/debug.html)")
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    out: list[BaseRoute] = [Route("/debug", debug_page, methods=["GET"], include_in_schema=False)]
    if web_dir.is_dir():
        out.append(Mount("/", app=StaticFiles(directory=web_dir, html=True), name="web"))
    return out
