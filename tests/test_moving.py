"""Moving data: a person's todos between two real servers (`offsync replicate http://C http://D
--user NAME`, the same username with a different id on each), and a whole deployment from one
database to another (`offsync replicate sqlite:///a.db sqlite:///b.db`, accounts included).
Every server is a real `offsync serve` process on a free port (tests/live_server.py)."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from models import replicate
from models.revisions import next_revision
from models.todo import Todo as _Todo
from server.cli import PASSWORD_ENV
from server.stores import open_store

from .auth_helpers import PASSWORD, Account, sign_up_sync
from .live_server import ROOT, LiveServer

PULL = {"version": str(_Todo.version)}  # a pull names the model version it runs

TIMEOUT = 20.0


def offsync(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, PASSWORD_ENV: PASSWORD}, stdin=subprocess.DEVNULL)


def counts(output: str, model: str = "todos") -> dict[str, int]:
    """`todos: applied 3, unchanged 0, ...` as a dict."""
    line = next(line for line in output.splitlines() if line.startswith(f"{model}: applied"))
    return {name: int(n) for n, name in ((m[1], m[0]) for m in
                                        re.findall(r"(\w+) (\d+)", line.split(": ", 1)[1]))}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    c = LiveServer(tmp_path / "c.db").start()
    try:
        d = LiveServer(tmp_path / "d.db").start()
        try:
            yield c, d
        finally:
            d.stop()
    finally:
        c.stop()


def client(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=TIMEOUT)


def todos(http: httpx.Client) -> dict[str, dict]:
    response = http.get("/api/todos")
    assert response.status_code == 200, response.text
    return {todo["id"]: todo for todo in response.json()}


def post(http: httpx.Client, **body: object) -> dict:
    response = http.post("/api/todos", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def without_owner(found: dict[str, dict]) -> dict[str, dict]:
    """The todos without what follows from each server's id of the account: the owner, and the
    default list (`inbox-<owner>`) the todos are in."""
    for todo in found.values():
        assert todo["list_id"] == f"inbox-{todo['owner']}", todo
    return {id: {k: v for k, v in todo.items() if k not in ("owner", "list_id")}
            for id, todo in found.items()}


def test_a_person_moves_their_todos_between_two_servers_and_back(servers):
    c, d = servers
    with client(c) as on_c, client(d) as on_d:
        ada_c, ada_d = sign_up_sync(on_c, "ada"), sign_up_sync(on_d, "ada")
        assert ada_c.id != ada_d.id, "each server gives the account its own id"
        made = [post(on_c, title=f"from C {i}") for i in range(3)]
        assert on_c.delete(f"/api/todos/{made[0]['id']}").status_code == 200
        post(on_d, title="from D")

        there = offsync("replicate", c.url, d.url, "--user", "ada")
        assert there.returncode == 0, there.stdout + there.stderr
        assert counts(there.stdout)["applied"] == 3  # two todos and a tombstone
        on_d_now = todos(on_d)
        assert {t["title"] for t in on_d_now.values()} == {"from C 1", "from C 2", "from D"}
        assert {t["owner"] for t in on_d_now.values()} == {ada_d.id}, "owners mapped to D's id"

        back = offsync("replicate", d.url, c.url, "--user", "ada")
        assert back.returncode == 0, back.stdout + back.stderr
        assert counts(back.stdout)["applied"] == 1  # only "from D" is new to C
        assert {t["owner"] for t in todos(on_c).values()} == {ada_c.id}
        assert without_owner(todos(on_c)) == without_owner(todos(on_d)), "same revisions too"

        for source, target in ((c, d), (d, c)):
            again = offsync("replicate", source.url, target.url, "--user", "ada")
            assert again.returncode == 0, again.stdout + again.stderr
            assert counts(again.stdout)["applied"] == 0 and counts(again.stdout)["merged"] == 0

        # edits of different fields on each side merge once, then both hold one revision
        todo = made[1]
        assert on_c.patch(f"/api/todos/{todo['id']}", json={"title": "oat milk"}).status_code \
            == 200
        assert on_d.patch(f"/api/todos/{todo['id']}", json={"completed": True}).status_code \
            == 200
        merged = offsync("replicate", c.url, d.url, "--user", "ada")
        assert counts(merged.stdout)["merged"] == 1, merged.stdout
        followed = offsync("replicate", d.url, c.url, "--user", "ada")
        assert counts(followed.stdout)["applied"] == 1, followed.stdout
        assert todos(on_c)[todo["id"]]["_rev"] == todos(on_d)[todo["id"]]["_rev"]
        assert todos(on_c)[todo["id"]]["title"] == "oat milk"
        assert todos(on_c)[todo["id"]]["completed"] is True
        assert todos(on_c)[todo["id"]]["owner"] == ada_c.id
        for source, target in ((c, d), (d, c)):
            again = offsync("replicate", source.url, target.url, "--user", "ada")
            assert counts(again.stdout)["applied"] == 0 and counts(again.stdout)["merged"] == 0


async def _push_as(server: LiveServer, account: Account, docs_from: LiveServer,
                   from_account: Account) -> list[dict]:
    async with open_store(docs_from.url, user=from_account.username,
                          password=from_account.password) as source, \
            open_store(server.url, user=account.username, password=account.password) as target:
        return (await replicate(source, target)).rejected


def test_a_strangers_document_is_still_refused_as_today(servers):
    """A document that exists on the receiving server and is someone else's is refused with the
    error a push of that user's document has always had, whatever owner it names, and stays
    untouched; a new document in the name of an account of that server is refused too."""
    c, d = servers
    with client(c) as on_c, client(d) as on_d, client(d) as bobs:
        ada_c, ada_d = sign_up_sync(on_c, "ada"), sign_up_sync(on_d, "ada")
        bob = sign_up_sync(bobs, "bob")
        his = post(bobs, title="bob's")
        post(on_c, id=his["id"], title="ada's on C, with bob's id on D")
        today = bobs.get(f"/api/todos/{his['id']}").json()

        # how a push of bob's document by ada was refused before owners were mapped
        forged = {"id": his["id"], "rev": today["_rev"], "history": [],
                  "data": {k: v for k, v in today.items() if k != "_rev"}}
        direct = on_d.post("/api/todos/sync/apply", json={"protocol": 1, "docs": [forged]})
        [refused] = direct.json()["results"]
        assert refused["status"] == "rejected" and refused["current"] is None

        rejected = asyncio.run(_push_as(d, ada_d, c, ada_c))
        assert [r["id"] for r in rejected] == [his["id"]]
        assert rejected[0]["error"] == refused["error"]
        assert refused["error"]["message"] == "WRITE on todos is not allowed"
        assert bobs.get(f"/api/todos/{his['id']}").json() == today
        assert his["id"] not in todos(on_d)

        # a new document owned by an account of D (bob) pushed by ada: refused, not adopted
        made_for_bob = {**forged, "id": "new-for-bob", "rev": "1-" + "a" * 32,
                        "data": {**forged["data"], "id": "new-for-bob", "owner": bob.id}}
        answer = on_d.post("/api/todos/sync/apply", json={"protocol": 1, "docs": [made_for_bob]})
        assert answer.json()["results"][0]["error"] == refused["error"]
        assert "new-for-bob" not in todos(bobs) and "new-for-bob" not in todos(on_d)


# ---- a whole deployment, database to database -------------------------------------------------

def rows(where: Path | str, sql: str) -> list[tuple]:
    """Rows of a SQLite file, or of a PostgreSQL database (a URL)."""
    if isinstance(where, str):
        import psycopg

        with psycopg.connect(where) as db:
            return [tuple(row) for row in db.execute(sql).fetchall()]
    with closing(sqlite3.connect(where)) as db:
        return db.execute(sql).fetchall()


def revisions(conflicts: list[dict]) -> list[tuple]:
    """Each conflict's two sides as (rev, data): what the user chooses between (the checkpoints
    are each database's own)."""
    return [tuple((side["rev"], side["data"]) for side in (c["mine"], c["theirs"]))
            for c in conflicts]


def record_a_conflict(http: httpx.Client, todo: dict) -> None:
    """Make the server record a conflict on `todo`: a push edits the title from the revision
    before the server's own edit of it."""
    changes = http.get("/api/todos/sync/changes",
                       params={**PULL, "full": "1", "limit": 5000}).json()
    (base,) = [doc for doc in changes["docs"] if doc["id"] == todo["id"]]
    assert http.patch(f"/api/todos/{todo['id']}", json={"title": "oat milk"}).status_code == 200
    data = {**base["data"], "title": "soy milk"}
    pushed = {"id": base["id"], "rev": next_revision(base["rev"], data),
              "history": [base["rev"]], "data": data, "base_rev": base["rev"],
              "base_data": base["data"]}
    answer = http.post("/api/todos/sync/apply", json={"protocol": 1, "docs": [pushed]})
    assert answer.json()["results"][0]["status"] == "conflict", answer.text


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path: Path) -> tuple[Path | str, str]:
    """Where a deployment moves: (what `rows` and `LiveServer` take, its URL)."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_fresh_url")
        return url, url
    return tmp_path / "new.db", f"sqlite:///{tmp_path}/new.db"


def test_a_deployment_moves_to_another_database_accounts_included(tmp_path: Path, new_database):
    old, (new, new_url) = tmp_path / "old.db", new_database
    server = LiveServer(old).start()
    try:
        with client(server) as ada_http, client(server) as bob_http:
            ada, bob = sign_up_sync(ada_http, "ada"), sign_up_sync(bob_http, "bob")
            for i in range(3):
                post(ada_http, title=f"ada {i}")
            gone = post(bob_http, title="bob's, deleted")
            assert bob_http.delete(f"/api/todos/{gone['id']}").status_code == 200
            post(bob_http, title="bob's")
            record_a_conflict(ada_http, post(ada_http, title="milk"))
            adas, bobs = todos(ada_http), todos(bob_http)
            conflicts = ada_http.get("/api/todos/sync/conflicts", params=PULL).json()["conflicts"]
            assert len(conflicts) == 1
    finally:
        server.stop()

    moved = offsync("replicate", f"sqlite:///{old}", new_url)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert counts(moved.stdout)["applied"] == 6  # every user's todos, the tombstone too
    assert "todos: 1 recorded conflicts copied" in moved.stdout
    assert "accounts: copied 2, already there 0" in moved.stdout
    assert rows(new, "SELECT id, username, password_hash, created_at FROM users ORDER BY id") \
        == rows(old, "SELECT id, username, password_hash, created_at FROM users ORDER BY id")

    again = offsync("replicate", f"sqlite:///{old}", new_url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "done: 0 changes" in again.stdout
    assert "todos: 0 recorded conflicts copied" in again.stdout
    assert "accounts: copied 0, already there 2" in again.stdout

    server = LiveServer(new).start()
    try:
        with client(server) as http:
            wrong = http.post("/api/auth/login", json={"username": "ada", "password": "nope!!!!"})
            assert wrong.status_code == 401
            logged = http.post("/api/auth/login", json={"username": "ada", "password": PASSWORD})
            assert logged.status_code == 200 and logged.json()["user"]["id"] == ada.id
            http.headers["X-CSRF-Token"] = logged.json()["csrf"]
            assert todos(http) == adas
            moved = http.get("/api/todos/sync/conflicts", params=PULL).json()["conflicts"]
            assert revisions(moved) == revisions(conflicts)
        with client(server) as http:
            logged = http.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
            assert logged.status_code == 200 and logged.json()["user"]["id"] == bob.id
            assert todos(http) == bobs
    finally:
        server.stop()


def test_a_username_taken_by_another_account_refuses_the_move(tmp_path: Path):
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    for path in (old, new):
        server = LiveServer(path).start()
        try:
            with client(server) as http:
                sign_up_sync(http, "ada")
                if path == old:
                    post(http, title="ada's")
        finally:
            server.stop()
    before = rows(new, "SELECT * FROM users"), rows(new, "SELECT id, rev FROM documents")
    refused = offsync("replicate", f"sqlite:///{old}", f"sqlite:///{new}")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "ada" in refused.stderr and "another account" in refused.stderr, refused.stderr
    assert (rows(new, "SELECT * FROM users"), rows(new, "SELECT id, rev FROM documents")) \
        == before, "nothing is copied when an account cannot be"


def test_database_of_a_store(tmp_path: Path):
    """`database_of` finds the server's tables of a database's store (the hook an adapter
    registers), and refuses a store that is no database."""
    from models import MemoryStore
    from server.database import SQLiteDatabase
    from server.stores import database_of

    async def run() -> None:
        async with open_store(f"sqlite:///{tmp_path}/x.db") as store:
            db = database_of(store)
            assert isinstance(db, SQLiteDatabase) and db.connection is store.db
        with pytest.raises(ValueError, match="MemoryStore is not a database"):
            database_of(MemoryStore())

    asyncio.run(run())
