"""A real `offsync serve` process on a free port for browser tests: started, awaited, stopped.
The benchmarks' server (bench/server.py) is the same process with one more route, and the
benchmarks' PouchDB server (bench/sidebyside.py) another `ServerProcess`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Test modules sign many accounts up from 127.0.0.1 on one server: raise the registration limit
# (its default is tested on its own, tests/test_security.py).
TEST_OPTIONS = ("--register-attempts", "100000")


class ServerProcess:
    """A server run as a child process: started, known ready once it prints its address and
    answers `ready_path`, its output kept (the last 200 lines), stopped or killed."""

    name = "server"
    ready_path = "/"

    def __init__(self, port: int = 0, *, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.cwd, self.env = cwd, env or {}
        self.port = port
        self.url = ""
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def command(self) -> list[str]:
        """The process to run; it must print `http://127.0.0.1:<port>` once listening."""
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.output = []
        self.process = subprocess.Popen(
            self.command(), cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
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
                # Keep reading: a server whose log pipe fills up blocks on its next log line.
                threading.Thread(target=self._drain, daemon=True).start()
                try:
                    self._wait_until_answering(deadline)
                except RuntimeError:
                    self.stop()
                    raise
                return self
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            del self.output[:-200]

    def _wait_until_answering(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} at {self.url} never answered")

    def kill(self) -> None:
        """`kill -9`: the process dies wherever it is, as in a crash (no shutdown, no flush)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


class LiveServer(ServerProcess):
    name = "offsync serve"
    ready_path = "/openapi.json"

    def __init__(self, db_path: Path | str, port: int = 0, *,
                 options: tuple[str, ...] = TEST_OPTIONS, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        """`db_path`: a SQLite file, or a database URL (`postgresql://...`). `cwd` and `env`:
        where the process runs and what it adds to the environment (a directory holding another
        `models/` package runs the server with those models; `OFFSYNC_WEB_DIR` in `env` serves
        another `web/`)."""
        super().__init__(port, cwd=cwd, env=env)
        self.db_path = db_path
        self.database_url = db_path if isinstance(db_path, str) and "://" in db_path \
            else f"sqlite:///{db_path}"
        self.options = options  # more `offsync serve` arguments

    def command(self) -> list[str]:
        return [sys.executable, "-m", "server.cli", "serve", "--db", self.database_url,
                "--host", "127.0.0.1", "--port", str(self.port), *self.options]

    def start(self, timeout: float = 30.0) -> LiveServer:
        super().start(timeout)
        return self
