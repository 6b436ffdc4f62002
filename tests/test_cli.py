"""`offsync serve` as a real process on a port the OS picks: it prints its URL, serves the API,
stops on SIGTERM, and leaves its database file behind. `offsync replicate` between database files
and a live server, and `offsync purge-tombstones`: each command takes the arguments of the call
it mirrors."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from models import CheckpointExpiredError, Todo
from models.stores.sqlite import SQLiteStore
from server.cli import PASSWORD_ENV, main

from .auth_helpers import PASSWORD, sign_up_sync

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


def request(client: httpx.Client, method: str, path: str,
            body: dict | None = None) -> tuple[int, object]:
    response = client.request(method, path, json=body)
    return response.status_code, response.json()


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
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            assert request(client, "GET", "/api/todos")[0] == 401  # no session yet
            sign_up_sync(client)
            assert request(client, "GET", "/api/todos") == (200, [])
            status, made = request(client, "POST", "/api/todos", {"title": "from the CLI test"})
            assert status == 201 and made["title"] == "from the CLI test"
            assert request(client, "GET", "/api/todos/count") == (200, {"count": 1})
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
        main(["serve", "--db", "mysql://localhost/x", "--port", "0"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a bad --db must stop the CLI")
    assert "sqlite:///" in capsys.readouterr().err
    assert time.monotonic() - started < TIMEOUT


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


# ---- replicate and purge-tombstones -----------------------------------------------------------

def fill(path: Path, titles: list[str], delete: int = 0, owner: str | None = None) -> list[Todo]:
    """Todos written into a SQLite file through the models (and `delete` of them deleted),
    created by `owner` when given."""

    async def run() -> list[Todo]:
        store = SQLiteStore(str(path))
        try:
            T = Todo.using(store) if owner is None else Todo.using(store).as_user(owner)
            made = [await T.create(title=title) for title in titles]
            for todo in made[:delete]:
                await todo.delete()
            return made
        finally:
            store.close()

    return asyncio.run(run())


def contents(path: Path) -> dict[str, tuple]:
    async def run() -> dict[str, tuple]:
        store = SQLiteStore(str(path))
        try:
            return {d.id: (d.rev, d.deleted, d.data) for d in await store.feed("todos", 0, 10**6)}
        finally:
            store.close()

    return asyncio.run(run())


def offsync(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, PASSWORD_ENV: password}, stdin=subprocess.DEVNULL)


def test_replicate_between_two_database_files(tmp_path: Path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    fill(a, [f"todo {i}" for i in range(5)], delete=1)
    done = offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}", "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # every model, lists first (none here)
    assert lines[0] == "todolists: 0/0" and "todolists: applied 0" in lines[1]
    assert lines[2:6] == ["todos: 0/5", "todos: 2/5", "todos: 4/5", "todos: 5/5"]
    assert "todos: applied 5, unchanged 0, merged 0, conflict 0, rejected 0" in lines
    assert any(line.startswith("done: 5 changes") and line.endswith("; 0 conflicts")
               for line in lines)
    assert lines[-1] == "checkpoint: 6 (next time: --since 6)"
    assert contents(b) == contents(a) and len(contents(b)) == 5

    again = offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}", "--since", "6")
    assert again.returncode == 0 and "done: 0 changes" in again.stdout


def test_replicate_resumes_where_the_last_run_reached(tmp_path: Path):
    """Without --since, a run starts where the last one between the same two stores ended (the
    target file keeps the progress, page by page); --since overrides it."""
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    fill(a, [f"todo {i}" for i in range(3)])
    assert offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}").returncode == 0
    fill(a, ["one more"])
    resumed = offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}")
    assert resumed.returncode == 0, resumed.stderr
    assert "todos: applied 1, unchanged 0," in resumed.stdout, resumed.stdout
    replayed = offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}", "--since", "0")
    assert "todos: applied 0, unchanged 4," in replayed.stdout, replayed.stdout
    other = tmp_path / "other.db"
    fill(other, ["from elsewhere"])
    first = offsync("replicate", f"sqlite:///{other}", f"sqlite:///{b}")
    assert "todos: applied 1," in first.stdout, "another source has its own progress"
    assert contents(b) == {**contents(a), **contents(other)}


def test_replicate_exits_2_on_conflicts(tmp_path: Path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    (todo,) = fill(a, ["milk"])
    assert offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}").returncode == 0

    async def edit(path: Path, title: str) -> None:
        store = SQLiteStore(str(path))
        try:
            found = await Todo.using(store).find_by_id(todo.id)
            await found.update(title=title)
        finally:
            store.close()

    asyncio.run(edit(a, "oat milk"))
    asyncio.run(edit(b, "soy milk"))
    done = offsync("replicate", f"sqlite:///{a}", f"sqlite:///{b}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"  conflict {todo.id} (update)" in done.stdout and "; 1 conflicts" in done.stdout


def test_replicate_errors_say_what_to_do(tmp_path: Path, capsys):
    missing = offsync("replicate", f"sqlite:///{tmp_path}/nope.db", f"sqlite:///{tmp_path}/b.db")
    assert missing.returncode == 1 and "no database file" in missing.stderr
    fill(tmp_path / "a.db", ["x"])
    down = offsync("replicate", f"sqlite:///{tmp_path}/a.db", "http://127.0.0.1:9")
    assert down.returncode == 1 and "offsync replicate: error:" in down.stderr
    no_db = offsync("replicate", f"sqlite:///{tmp_path}/a.db", "postgresql://127.0.0.1:9/none")
    assert no_db.returncode == 1 and "cannot open postgresql://" in no_db.stderr, no_db.stderr
    with pytest.raises(SystemExit) as info:
        main(["replicate", "mysql://x/y", f"sqlite:///{tmp_path}/b.db"])
    assert info.value.code == 2 and "sqlite:///" in capsys.readouterr().err
    for argv in (["sqlite:///a.db", "http://"],  # a server URL without a host
                 [f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db", "--model", "x"]):
        with pytest.raises(SystemExit) as info:
            main(["replicate", *argv])
        assert info.value.code == 2, argv
    assert "names no host" in capsys.readouterr().err
    assert not (tmp_path / "b.db").exists(), "a refused command opened nothing"


def test_replicate_to_and_from_a_live_server(tmp_path: Path):
    """A server replicates one account's documents: --user logs in (password from the
    environment); another account's documents are refused document by document."""
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    command = [sys.executable, "-m", "server.cli", "serve", "--db",
               f"sqlite:///{tmp_path}/server.db", "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url, _ = read_url(process, TIMEOUT)
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            ada = sign_up_sync(client, "ada")
            with httpx.Client(base_url=url, timeout=TIMEOUT) as other:
                bob = sign_up_sync(other, "bob")
                assert request(other, "POST", "/api/todos", {"title": "bob's"})[0] == 201
            fill(a, [f"todo {i}" for i in range(4)], delete=1, owner=ada.id)
            bobs_file = offsync("replicate", url, f"sqlite:///{b}", "--user", "bob")
            assert bobs_file.returncode == 0 and "todos: applied 1" in bobs_file.stdout
            fill(b, ["bob's, offline"], owner=bob.id)  # new here, but owned by an account here

            anonymous = offsync("replicate", f"sqlite:///{a}", url)
            assert anonymous.returncode == 1 and "--user" in anonymous.stderr
            wrong = offsync("replicate", f"sqlite:///{a}", url, "--user", "ada",
                            password="not the password")
            assert wrong.returncode == 1 and "wrong username or password" in wrong.stderr

            push = offsync("replicate", f"sqlite:///{a}", url, "--user", "ada")
            assert push.returncode == 0, push.stdout + push.stderr
            assert "todos: applied 4" in push.stdout
            assert request(client, "GET", "/api/todos/count") == (200, {"count": 3})

            foreign = offsync("replicate", f"sqlite:///{b}", url, "--user", "ada")
            assert foreign.returncode == 2 and "rejected 2" in foreign.stdout
            assert "WRITE on todos is not allowed" in foreign.stdout
            assert request(client, "GET", "/api/todos/count") == (200, {"count": 3})

            pull = offsync("replicate", url, f"sqlite:///{c}", "--batch-size", "3",
                           "--user", "ada")
            assert pull.returncode == 0, pull.stdout + pull.stderr
            assert "todos: 3/4" in pull.stdout and "todos: applied 4" in pull.stdout
            assert contents(c) == contents(a)
            bobs = offsync("replicate", url, f"sqlite:///{tmp_path}/bob.db", "--user", "bob")
            assert bobs.returncode == 0 and "todos: applied 1" in bobs.stdout, "bob's alone"
    finally:
        process.terminate()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=TIMEOUT)
        if process.stdout:
            process.stdout.close()


def read_after(db: Path, since: int) -> None:
    async def run() -> None:
        store = SQLiteStore(str(db))
        try:
            await store.feed("todos", since)
        finally:
            store.close()

    asyncio.run(run())


def test_purge_tombstones_through_a_checkpoint(tmp_path: Path, capsys):
    """`purge-tombstones MODEL --through C` is `store.purge_tombstones(MODEL, C)`."""
    db = tmp_path / "p.db"
    fill(db, [f"todo {i}" for i in range(4)], delete=3)  # deletes at checkpoints 5, 6, 7
    assert main(["purge-tombstones", "todos", "--db", f"sqlite:///{db}", "--through", "6"]) == 0
    out = capsys.readouterr().out
    assert "todos: purged 2 tombstones written at or before checkpoint 6" in out, out
    left = contents(db)
    assert sum(deleted for _, deleted, _ in left.values()) == 1 and len(left) == 2
    with pytest.raises(CheckpointExpiredError):
        read_after(db, 3)
    read_after(db, 6)


def test_purge_tombstones_keep_is_through_the_checkpoint_minus_n(tmp_path: Path, capsys):
    db = tmp_path / "p.db"
    fill(db, [f"todo {i}" for i in range(4)], delete=3)  # deletes at checkpoints 5, 6, 7
    assert main(["purge-tombstones", "todos", "--db", f"sqlite:///{db}", "--keep", "100"]) == 0
    assert "nothing to purge" in capsys.readouterr().out
    assert main(["purge-tombstones", "todos", "--db", f"sqlite:///{db}", "--keep", "1"]) == 0
    assert "todos: purged 2 tombstones written at or before checkpoint 6" in \
        capsys.readouterr().out
    with pytest.raises(CheckpointExpiredError):
        read_after(db, 3)


def test_purge_tombstones_refuses_what_the_call_would_not_mean(tmp_path: Path, capsys):
    db = tmp_path / "p.db"
    fill(db, ["a", "b"], delete=1)  # the database is at checkpoint 3
    for argv in (["--through", "1"],  # no model
                 ["todos"],  # neither --through nor --keep
                 ["todos", "--through", "1", "--keep", "1"],  # both
                 ["notes", "--through", "1"],  # no such model
                 ["todos", "--through", "-1"]):
        with pytest.raises(SystemExit) as info:
            main(["purge-tombstones", "--db", f"sqlite:///{db}", *argv])
        assert info.value.code == 2, argv
    capsys.readouterr()
    assert main(["purge-tombstones", "todos", "--db", f"sqlite:///{db}", "--through", "4"]) == 1
    assert "past the database's last checkpoint 3" in capsys.readouterr().err
    assert main(["purge-tombstones", "todos", "--db", f"sqlite:///{tmp_path}/none.db",
                 "--through", "1"]) == 1
    assert "no database file" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    assert len(contents(db)) == 2, "a refused purge dropped nothing"
