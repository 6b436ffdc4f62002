"""`offsync serve` as a real process on a port the OS picks: it prints its URL, serves the API,
stops on SIGTERM, and leaves its database file behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from server.cli import main

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 20.0


def read_url(process: subprocess.Popen, timeout: float) -> tuple[str, list[str]]:
    """The URL from the process's announcement line; reads on a thread so it can time out."""
    lines: list[str] = []
    found: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = re.match(r"offsync serving (http://\S+) \(database: .+\)", line)
            if match:
                found.append(match.group(1))
                break
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    assert found, f"no URL printed within {timeout}s; output: {''.join(lines)!r}"
    return found[0], lines


def request(method: str, url: str, body: dict | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
        return response.status, json.loads(response.read())


def test_serve_on_a_port_the_os_picks(tmp_path: Path):
    db = tmp_path / "sub" / "x.db"
    command = [sys.executable, "-m", "server.cli", "serve", "--db", f"sqlite:///{db}",
               "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url, _ = read_url(process, TIMEOUT)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and not url.endswith(":0")
        assert request("GET", f"{url}/api/todos") == (200, [])
        status, made = request("POST", f"{url}/api/todos", {"title": "from the CLI test"})
        assert status == 201 and made["title"] == "from the CLI test"
        assert request("GET", f"{url}/api/todos/count") == (200, {"count": 1})
        process.terminate()
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the parent sees it
        assert process.wait(timeout=TIMEOUT) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=TIMEOUT)
        if process.stdout:
            process.stdout.close()
    assert db.is_file()
    assert not Path(f"{db}-wal").exists(), "the lifespan did not close the database"


def test_bad_database_url_is_refused_before_serving(capsys):
    started = time.monotonic()
    try:
        main(["serve", "--db", "postgresql://localhost/x", "--port", "0"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a bad --db must stop the CLI")
    assert "sqlite:///" in capsys.readouterr().err
    assert time.monotonic() - started < TIMEOUT


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out
