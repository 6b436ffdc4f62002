"""The server the benchmarks run against, and how they start and stop it.

`python -m bench.server --db URL --port N` is `offsync serve` (the same `create_app`, the same
uvicorn settings and start-up line) with a few extra routes: `/bench/bare.html`, a page that only
loads the same local Pyodide, so start-up can be compared with bare Pyodide on the same origin,
the same server and the same run; and `/bench/pouchdb.html` with PouchDB's browser build from
node_modules, the peer of the side-by-side (bench/sidebyside.py). The extra routes are added
here, not in `server/`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.live_server import LiveServer

PAGES = Path(__file__).resolve().parent / "pages"
# PouchDB's own browser bundle, installed from the npm registry by `npm ci` (package.json)
POUCHDB_BUILD = Path(__file__).resolve().parent.parent / "node_modules/pouchdb/dist/pouchdb.min.js"
BENCH_REGISTER_ATTEMPTS = 1_000_000


class BenchServer(LiveServer):
    """The bench server as a child process on a fixed port once chosen (so a restart keeps the
    browser's origin, and with it the page's localStorage and loaded Pyodide)."""

    name = "the bench server"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "bench.server", "--db", f"sqlite:///{self.db_path}",
                "--port", str(self.port)]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> BenchServer:
        super().start(timeout)
        return self

    def restart(self, *, fresh: bool = False) -> BenchServer:
        """Stop, optionally drop the database, start again on the same port."""
        self.stop()
        if fresh:
            remove_database(self.db_path)
        return self.start()


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    from starlette.responses import FileResponse
    from starlette.routing import Route

    from server.app import create_app
    from server.cli import AnnouncingServer, uvicorn_config

    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    # every measurement signs up a fresh account, all from 127.0.0.1
    app = create_app(args.db, register_attempts=BENCH_REGISTER_ATTEMPTS)

    async def bare(request):
        return FileResponse(PAGES / "bare.html", headers={"Cache-Control": "no-cache"})

    async def pouchdb_page(request):
        return FileResponse(PAGES / "pouchdb.html", headers={"Cache-Control": "no-cache"})

    async def pouchdb_build(request):
        return FileResponse(POUCHDB_BUILD, media_type="text/javascript",
                            headers={"Cache-Control": "no-cache"})

    app.router.routes.insert(0, Route("/bench/bare.html", bare, methods=["GET"]))
    app.router.routes.insert(0, Route("/bench/pouchdb.html", pouchdb_page, methods=["GET"]))
    app.router.routes.insert(0, Route("/bench/vendor/pouchdb.min.js", pouchdb_build,
                                      methods=["GET"]))
    # the same settings as `offsync serve` (server/cli.py), its default log level included
    config = uvicorn_config(app, host=args.host, port=args.port, log_level="info")
    AnnouncingServer(config, args.db).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
