"""The build id: one hash of the code the server hands to browsers (the `models` archive and every
file of `web/` except the runtime under `web/vendor/`).

A page knows the build it runs (`/build.json`, which the service worker keeps with the rest of
that build's files) and asks the server for the current one (`GET /version.json`, never
cached). When they differ, the page offers the new version instead of switching under the user's
data.
`OFFSYNC_BUILD_NOTE` (any text) joins the hash, so a deployment can force a new build without a
code change.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from .archive import Archive

NOTE_ENV = "OFFSYNC_BUILD_NOTE"


def build_id(web_dir: Path, archive: Archive, note: str | None = None) -> str:
    digest = hashlib.sha256()
    digest.update(archive.sha256.encode())
    if web_dir.is_dir():
        for path in sorted(p for p in web_dir.rglob("*") if p.is_file()):
            relative = path.relative_to(web_dir).as_posix()
            if relative.startswith("vendor/") or "__pycache__" in path.parts:
                continue
            digest.update(b"\0" + relative.encode() + b"\0")
            digest.update(path.read_bytes())
    note = os.environ.get(NOTE_ENV, "") if note is None else note
    digest.update(b"\0note\0" + note.encode())
    return digest.hexdigest()[:16]


def routes(build: str, archive: Archive) -> list[BaseRoute]:
    """`/version.json` for the server's build now; `/build.json`, the same answer, for the
    service worker to keep beside the files of that build."""
    body = {"build": build, "models": archive.url}

    async def version(request: Request) -> JSONResponse:
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def build_file(request: Request) -> JSONResponse:
        return JSONResponse(body, headers={"Cache-Control": "no-cache"})

    return [
        Route("/version.json", version, methods=["GET"], include_in_schema=False),
        Route("/build.json", build_file, methods=["GET"], include_in_schema=False),
    ]
