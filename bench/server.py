"""The server the benchmarks run against, and how they start and stop it.

`python -m bench.server --db URL --port N` is `offsync serve` (the same `create_app`, the same
uvicorn settings and start-up line) with one extra route, `/bench/bare.html`: a page that only
loads the same local Pyodide, so start-up can be compared with bare Pyodide on the same origin,
the same server and the same run. The extra route is added here, not in `server/`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).resolve().parent / "pages"


class BenchServer:
    """The bench server as a child process on a fixed port once chosen (so a restart keeps the
    browser's origin, and with it the page's localStorage and loaded Pyodide)."""

    def __init__(self, db_path: Path, port: int = 0) -> None:
        self.db_path = Path(db_path)
        self.port = port
        self.url = ""
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> BenchServer:
        command = [sys.executable, "-m", "bench.server", "--db", f"sqlite:///{self.db_path}",
                   "--port", str(self.port)]
        self.output = []
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.port = int(found.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                try:
                    self._wait_until_answering(deadline)
                except RuntimeError:
                    self.stop()
                    raise
                # uvicorn keeps logging each request; drain it so the pipe never fills
                import threading

                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.stop()
        raise RuntimeError("the bench server did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        process = self.process
        if process is None or process.stdout is None:
            return
        for _ in process.stdout:
            pass

    def _wait_until_answering(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                # a route that needs no session (every /api/ route does)
                with urllib.request.urlopen(self.url + "/pkg/models.json", timeout=2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the bench server at {self.url} never answered")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

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
    import uvicorn
    from starlette.responses import FileResponse
    from starlette.routing import Route

    from server.app import create_app
    from server.cli import AnnouncingServer

    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--db", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    app = create_app(args.db)

    async def bare(request):
        return FileResponse(PAGES / "bare.html", headers={"Cache-Control": "no-cache"})

    app.router.routes.insert(0, Route("/bench/bare.html", bare, methods=["GET"]))
    # the same settings as `offsync serve` (server/cli.py), its default log level included
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info")
    AnnouncingServer(config, args.db).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
