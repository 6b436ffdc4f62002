"""The `models` package as a zip named by its content hash, for the browser to import.

The zip is deterministic (sorted entries, fixed timestamps and permissions), so the same source
always gives the same hash. The hash in the URL lets browsers cache the archive forever
(`immutable`) yet never run stale model code: new code means a new URL, found through the
uncached `/pkg/models.json`.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from models.errors import NotFoundError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Archive:
    data: bytes
    sha256: str

    @property
    def short_hash(self) -> str:
        return self.sha256[:16]

    @property
    def url(self) -> str:
        return f"/pkg/models-{self.short_hash}.zip"


def build_archive(package_dir: Path) -> Archive:
    """Zip every .py file under `package_dir` as `<package name>/...`."""
    root = package_dir.resolve()
    names = sorted(
        path.relative_to(root.parent).as_posix()
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # unix, whatever machine builds it
            zf.writestr(info, (root.parent / name).read_bytes())
    data = buffer.getvalue()
    return Archive(data, hashlib.sha256(data).hexdigest())


def routes(archive: Archive) -> list[BaseRoute]:
    async def current(request: Request) -> JSONResponse:
        return JSONResponse(
            {"url": archive.url, "hash": archive.sha256, "size": len(archive.data)},
            headers={"Cache-Control": "no-cache"},
        )

    async def download(request: Request) -> Response:
        digest = request.path_params["digest"]
        if digest != archive.short_hash:
            raise NotFoundError(
                f"no models archive {digest!r}; GET /pkg/models.json for the current one",
                {"hash": digest},
            )
        return Response(
            archive.data,
            media_type="application/zip",
            headers={"Cache-Control": IMMUTABLE, "ETag": f'"{archive.sha256}"'},
        )

    return [
        Route("/pkg/models.json", current, methods=["GET"]),
        Route("/pkg/models-{digest}.zip", download, methods=["GET"]),
    ]
