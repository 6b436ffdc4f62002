"""Property: clients that edit offline and sync in any order converge, and lose nothing silently,
even when answers are lost and the server restarts.

Hypothesis generates a run: 2-4 clients (memory or Web Storage stores) around one server, and a
list of operations, each on one client: create a todo, edit its title, toggle it, delete it, go
offline, go online, sync (only when online; `models.sync` = push then pull, the progress kept in
the client's store page by page), resolve the conflicts the client shows; purge every tombstone
on the server (the purge policy with `--keep 0`), so clients behind the horizon resync fully; and
faults: `lose` (a sync during which the n-th page answer is lost after the server did the work:
a dropped connection), `crash` (the same, then the server restarts: killed between its commit and
its reply) and `restart` (the server restarts between two operations: the SQLite store is closed
and reopened on its file, or the app is stopped and started again on it). Then everyone comes
online, the network is sound again, every conflict shown on a client is resolved (source, target
or manual, chosen by hypothesis) and all clients sync, round after round, until a round changes
nothing (at most `MAX_ROUNDS`).

At the end:
1. every client and the server hold the same live documents (ids, data and revisions), and no
   document is duplicated (every title written is unique, so two live todos never share one);
2. no conflict is recorded anywhere (clients and server);
3. zero false conflicts: every conflict a sync decides (the server's, answering the push, and
   the client's, applying the pull) is checked with both documents as they were. It is *false*
   when neither side is a delete and, from the newest common ancestors of its two revisions, the
   two sides changed no field in different ways (disjoint fields, or the same value): the
   three-way merge would have taken both, so the user should never have seen it. Documents
   whose tombstone a purge dropped are not judged: with `--keep 0` the server forgets revisions
   it had acknowledged (an older one can come back from a client that never saw the delete), and
   a conflict about them can be the honest answer; they still must converge;
4. zero silent losses. Every write is recorded with the revision it produced and what it meant
   per field: a create sets `title` and `completed`; an edit sets `title`; a toggle sets
   `completed`; a delete and a conflict resolution set both (a delete to DELETED; a resolution to
   whatever it chose). A write W2 *supersedes* W1 when W1's revision is an ancestor of W2's (W2
   was made by someone who had seen W1: causally later) and W2 sets the same field. A
   resolution descends from both versions of its conflict, so it supersedes every write that was
   part of the conflict: that is "shown and resolved". For each document and field, the writes
   nobody superseded are the current intents. Then, with the document's final value:
   - `title` (every title written is unique): every current intent must equal the final title
     (DELETED if the document ended deleted). Two concurrent titles must have become a
     conflict, and its resolution supersedes both.
   - `completed` (a boolean, so a user can change it and change it back): the final value must
     be one of the current intents; DELETED only if every intent is DELETED. A field changed and
     changed back counts as unchanged since the common base (rule 4's three-way merge),
     so it may lose to a concurrent change without a conflict; that is not a loss.
   A *silent loss* is a write that breaks this: its effect is gone from the final state, no
   causally later write replaced it, and no conflict about it was shown and resolved. In
   particular a deleted todo stays deleted unless a resolution chose the edit.

Ancestry comes from the revision histories the stores keep, read after every step (so history
truncation cannot hide an ancestor), closed transitively.

The server is `SQLiteStore` directly, and the real app over HTTP (`create_app` through
`tests/flaky_app.FlakyFront` and `httpx.ASGITransport`, `HttpxTransport`, `RemoteStore`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from models import (
    DictStorage,
    MemoryStore,
    Todo,
    TransportError,
    WebStorageStore,
    stored_conflicts,
    sync,
)
from models.stores.sqlite import SQLiteStore
from server.postgres import PostgresStore

from . import hypothesis_profiles
from .clock import Clock

hypothesis_profiles.load()

MAX_ROUNDS = 8
DELETED = "<deleted>"
FIELDS = ("title", "completed")


@dataclass
class Write:
    doc: str
    rev: str
    sets: dict[str, object]
    what: str


@dataclass
class Client:
    name: str
    store: object
    model: type
    online: bool = True


class World:
    def __init__(self, server, kinds: list[str], user_id: str) -> None:
        self.faults = server  # SQLiteServer or HTTPServer: the store, and what goes wrong
        self.clock = Clock()
        self.clients: list[Client] = []
        for i, kind in enumerate(kinds):
            store = MemoryStore() if kind == "memory" else WebStorageStore(DictStorage())
            model = Todo.using(store).as_user(user_id)  # one user's devices
            model.clock = self.clock
            self.clients.append(Client(f"c{i}-{kind}", store, model))
        self.writes: list[Write] = []
        self.history: dict[str, set[str]] = {}
        self.values: dict[str, dict[str, object]] = {}
        self.frozen: dict[str, set[str]] | None = None  # ancestors, cached once nothing moves
        self.counter = 0
        self.log: list[str] = []
        self.conflicts_seen = 0
        self.false_conflicts: list[str] = []
        self.purged: set[str] = set()  # documents whose tombstone the server purged

    @property
    def server(self):
        return self.faults.store

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # ---- bookkeeping -------------------------------------------------------------------------
    def seen(self, doc) -> None:
        self.history.setdefault(doc.rev, set()).update(doc.history)
        self.values[doc.rev] = fields_of(doc)

    async def observe(self) -> None:
        """Remember every revision's ancestors and fields as some store reports them."""
        for store in [c.store for c in self.clients] + [self.server]:
            for doc in await every_doc(store):
                self.seen(doc)
            for mine, theirs in await store.conflicts("todos"):
                for doc in (mine, theirs):
                    if doc is not None:
                        self.seen(doc)

    def judge(self, client: Client, result) -> None:
        """Every conflict a sync decided (on the server for its push, here for its pull), with
        both documents as they were when it was decided: a false one is recorded."""
        for direction, found in (("push", result.push.conflicts), ("pull", result.pull.conflicts)):
            for conflict in found:
                sides = (conflict.source_doc, conflict.target_doc)
                for doc in sides:
                    if doc is not None:
                        self.seen(doc)
                self.conflicts_seen += 1
                if conflict.id in self.purged:
                    FAULTS["conflicts after a purge (not judged)"] += 1
                elif None not in sides and self.mergeable(sides[0].rev, sides[1].rev):
                    self.false_conflicts.append(
                        f"{client.name} {direction}: {conflict.id} "
                        + " vs ".join(f"{d.rev} {self.values.get(d.rev)}" for d in sides)
                        + f" (at: {self.log[-1] if self.log else 'start'})")

    def mergeable(self, a: str, b: str) -> bool:
        """Whether the three-way merge of `a` and `b` succeeds on the fields this test writes
        against every newest common ancestor (so a conflict between them is a false one)."""
        sides = [self.values.get(a), self.values.get(b)]
        if any(v is None or DELETED in v.values() for v in sides):
            return False
        common = (self._ancestors(a) | {a}) & (self._ancestors(b) | {b})
        newest = [c for c in common
                  if not any(c in self._ancestors(other) for other in common if other != c)]
        if not newest:
            return False
        for base in newest:
            base_values = self.values.get(base)
            if base_values is None or DELETED in base_values.values():
                return False
            for name in FIELDS:
                m, t, o = sides[0][name], sides[1][name], base_values[name]
                if m != o and t != o and m != t:
                    return False
        return True

    def ancestors(self, rev: str) -> set[str]:
        if self.frozen is not None:
            if rev not in self.frozen:
                self.frozen[rev] = self._ancestors(rev)
            return self.frozen[rev]
        return self._ancestors(rev)

    def _ancestors(self, rev: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.history.get(rev, ()))
        while todo:
            r = todo.pop()
            if r not in seen:
                seen.add(r)
                todo.extend(self.history.get(r, ()))
        return seen

    async def record(self, client: Client, id: str, sets: dict, what: str) -> None:
        doc = await client.store.get_any("todos", id)
        self.seen(doc)
        self.writes.append(Write(id, doc.rev, sets, f"{client.name}: {what}"))

    # ---- operations --------------------------------------------------------------------------
    async def live_ids(self, client: Client) -> list[str]:
        return sorted(d.id for d in await client.store.find("todos", Todo.query()))

    async def run(self, op: tuple) -> None:
        kind, index, pick = op
        client = self.clients[index % len(self.clients)]
        self.log.append(f"{kind} {client.name} {pick}")
        if kind == "create":
            id, title = self.unique("d"), self.unique("t")
            await client.model.create(id=id, title=title, order=self.counter)
            await self.record(client, id, {"title": title, "completed": False}, f"create {title}")
        elif kind in ("title", "toggle", "delete"):
            ids = await self.live_ids(client)
            if not ids:
                return
            id = ids[pick % len(ids)]
            obj = await client.model.find_by_id(id)
            if kind == "title":
                title = self.unique("t")
                await obj.update(title=title)
                await self.record(client, id, {"title": title}, f"title {id} {title}")
            elif kind == "toggle":
                await obj.update(completed=not obj.completed)
                await self.record(client, id, {"completed": obj.completed},
                                  f"toggle {id} {obj.completed}")
            else:
                await obj.delete()
                await self.record(client, id, dict.fromkeys(FIELDS, DELETED), f"delete {id}")
        elif kind == "offline":
            client.online = False
        elif kind == "online":
            client.online = True
        elif kind == "sync":
            if client.online:
                await self.sync(client)
        elif kind in ("lose", "crash"):
            if client.online:
                # the n-th page answer of this sync is lost after the server did the work; a
                # crash is a server killed right after its commit: it then starts again
                self.faults.lose_page_at(pick % 4 + 1)
                await self.sync(client)
                self.faults.lose_page_at(None)
                if kind == "crash":
                    await self.faults.restart()
        elif kind == "restart":
            await self.faults.restart()
        elif kind == "resolve":
            await self.resolve(client, lambda n: (pick + n) % 3)
        elif kind == "purge":
            # the purge policy with N = 0: every tombstone goes; older checkpoints resync
            self.purged.update(d.id for d in await every_doc(self.server) if d.deleted)
            await self.faults.purge()
        await self.observe()

    async def sync(self, client: Client):
        """One sync as the page runs it; None when an answer was lost (retried by a later one)."""
        try:
            result = await sync(client.store, self.server, models=[Todo], peer="server")
        except TransportError:
            return None
        self.judge(client, result)
        return result

    async def resolve(self, client: Client, choose) -> int:
        conflicts = await stored_conflicts(client.store, Todo)
        for n, conflict in enumerate(conflicts):
            how = ("source", "target", "manual")[choose(n)]
            if how == "source":
                outcome = await conflict.resolve_using_source()
            elif how == "target":
                outcome = await conflict.resolve_using_target()
            else:
                sides = [d for d in (conflict.source_doc, conflict.target_doc)
                         if d is not None and not d.deleted]
                if sides:
                    title = self.unique("m")
                    outcome = await conflict.resolve_manually({**sides[0].data, "title": title})
                else:  # both sides deleted since (see DELETE_AFTER_DELETE_CONFLICT)
                    how = "source (both deleted)"
                    outcome = await conflict.resolve_using_source()
            assert outcome.status == "applied", f"resolving {conflict} ({how}): {outcome}"
            sets = fields_of(outcome.current)
            await self.record(client, conflict.id, sets, f"resolve {conflict.id} {how} {sets}")
        if conflicts:
            await self.observe()
        return len(conflicts)

    # ---- the end -----------------------------------------------------------------------------
    async def settle(self, choose) -> None:
        for client in self.clients:
            client.online = True
        for _ in range(MAX_ROUNDS):
            moved = 0
            for client in self.clients:
                moved += await self.resolve(client, choose)
                result = await self.sync(client)
                assert result is not None, "a sync failed with no fault armed"
                moved += sum(result.push.counts.values()) + sum(result.pull.counts.values())
                await self.observe()
            if not moved:
                return
        raise AssertionError(f"no quiescence after {MAX_ROUNDS} rounds:\n" + "\n".join(self.log))

    async def check(self) -> None:
        def live(docs):
            return {d.id: (d.rev, d.data) for d in docs if not d.deleted}

        assert not self.false_conflicts, (
            f"{len(self.false_conflicts)} false conflicts:\n" + "\n".join(self.false_conflicts)
            + "\n" + self.story())
        expected = live(await every_doc(self.server))
        for client in self.clients:
            got = live(await every_doc(client.store))
            assert got == expected, f"{client.name} differs from the server\n" + self.story()
        titles = [data["title"] for _, data in expected.values()]
        duplicated = sorted({t for t in titles if titles.count(t) > 1})
        assert not duplicated, f"duplicated writes: {duplicated}\n" + self.story()
        created = {w.doc for w in self.writes}
        assert set(expected) <= created, f"unknown documents {set(expected) - created}"
        for store, name in [(c.store, c.name) for c in self.clients] + [(self.server, "server")]:
            left = await store.conflicts("todos")
            assert not left, f"conflicts left on {name}: {left}\n" + self.story()

        self.frozen = {}
        final = {doc.id: fields_of(doc) for doc in await every_doc(self.server)}
        losses = []
        for id in sorted({w.doc for w in self.writes}):
            now = final.get(id, dict.fromkeys(FIELDS, DELETED))
            for name in FIELDS:
                writers = [w for w in self.writes if w.doc == id and name in w.sets]
                current = [w for w in writers if not any(
                    w.rev in self.ancestors(other.rev) for other in writers if other is not w)]
                winners = [w for w in current if w.sets[name] == now[name]]
                for w in current:
                    if w.sets[name] != now[name] and not self.unchanged(w, name, winners):
                        losses.append(f"{id}.{name} = {now[name]!r} lost {w.what} (rev {w.rev})")
        assert not losses, "silent losses:\n" + "\n".join(losses) + "\n" + self.story()

    def unchanged(self, w: Write, name: str, winners: list[Write]) -> bool:
        """Whether `w`'s value of `name` was already the common value when it met a winning
        write: then `w` changed nothing the winner had to keep, and the three-way merge rightly
        took the winner's change (a resolution that kept the common value, a toggle changed
        back, or two clients that set the same value and one of them changed it later).

        "Met": some revision M that descends from `w` (or is `w`) but not from the winner Z
        shares an ancestor with Z where `name` already had `w`'s value. M = `w` itself covers
        reverts; M = a merge of `w` with an identical concurrent change covers the last case.
        """
        sides = [rev for rev in self.history
                 if rev == w.rev or w.rev in self.ancestors(rev)]
        for z in winners:
            theirs = self.ancestors(z.rev)
            for m in sides:
                if m == z.rev or z.rev in self.ancestors(m):
                    continue
                if any(self.values.get(base, {}).get(name) == w.sets[name]
                       for base in self.ancestors(m) & theirs):
                    return True
        return False

    def story(self) -> str:
        return "steps:\n  " + "\n  ".join(self.log)


async def every_doc(store) -> list:
    """Every document and tombstone, page by page (a server answers in pages)."""
    docs, cursor = [], 0
    while page := await store.feed("todos", cursor, 500, full=True):
        docs += page
        cursor = page[-1].checkpoint
    return docs


def fields_of(doc) -> dict[str, object]:
    if doc is None or doc.deleted:
        return dict.fromkeys(FIELDS, DELETED)
    return {f: doc.data[f] for f in FIELDS}


# ---- servers ----------------------------------------------------------------------------------

class LosingAnswers:
    """Mixed into the server's store: its n-th page answer from now is lost after the work was
    done."""

    lose_at: int | None = None

    def _lose(self) -> bool:
        if self.lose_at is None:
            return False
        self.lose_at -= 1
        if self.lose_at > 0:
            return False
        self.lose_at = None
        FAULTS["answers lost"] += 1
        return True

    async def apply(self, model, docs, **kw):
        outcomes = await super().apply(model, docs, **kw)
        if self._lose():
            raise TransportError("the answer to apply was lost (the server committed it)")
        return outcomes

    async def feed(self, model, since=0, limit=1000, **kw):
        docs = await super().feed(model, since, limit, **kw)
        if limit > 0 and self._lose():
            raise TransportError("the answer to feed was lost")
        return docs


class FlakySQLiteStore(LosingAnswers, SQLiteStore):
    pass


class FlakyPostgresStore(LosingAnswers, PostgresStore):
    pass


class SQLiteServer:
    """The server's store itself: a restart closes the file and opens it again."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.store = FlakySQLiteStore(path)

    def lose_page_at(self, n: int | None) -> None:
        self.store.lose_at = n

    async def restart(self) -> None:
        self.store.close()
        self.store = FlakySQLiteStore(self.path)
        FAULTS["restarts"] += 1

    async def purge(self) -> None:
        await self.store.purge_tombstones("todos", await self.store.checkpoint())


class PostgresServer:
    """The server's store on PostgreSQL: a restart closes the pool and opens a new one."""

    def __init__(self, store: FlakyPostgresStore) -> None:
        self.store = store

    def lose_page_at(self, n: int | None) -> None:
        self.store.lose_at = n

    async def restart(self) -> None:
        url = self.store.url
        await self.store.close()
        self.store = await FlakyPostgresStore.open(url, max_size=2)
        FAULTS["restarts"] += 1

    async def purge(self) -> None:
        await self.store.purge_tombstones("todos", await self.store.checkpoint())


class HTTPServer:
    """The real app behind a front that loses answers; a restart starts a new app on the file."""

    def __init__(self, app, remote) -> None:
        self.app = app
        self.store = remote

    def lose_page_at(self, n: int | None) -> None:
        front = self.app.front
        if n is None:
            FAULTS["answers lost"] += front.lost
            front.lost = 0
        front.lose_page_at = n

    async def restart(self) -> None:
        await self.app.restart()
        FAULTS["restarts"] += 1

    async def purge(self) -> None:
        store = self.app.store
        await store.purge_tombstones("todos", await store.checkpoint())


@contextlib.asynccontextmanager
async def sqlite_server(tmp: str) -> AsyncIterator[tuple[object, str]]:
    """The server's store itself, and the user whose devices the clients are."""
    server = SQLiteServer(f"{tmp}/server.db")
    try:
        yield server, "the-user"
    finally:
        server.store.close()


@contextlib.asynccontextmanager
async def http_server(tmp: str) -> AsyncIterator[tuple[object, str]]:
    """The real app, signed in as a freshly registered user (clients sync as them)."""
    from .flaky_app import running

    async with running(f"{tmp}/s.db") as app, app.client() as (remote, account):
        yield HTTPServer(app, remote), account.id


POSTGRES: dict[str, object] = {}  # the cluster and database of the PostgreSQL property


@contextlib.asynccontextmanager
async def postgres_server(tmp: str) -> AsyncIterator[tuple[object, str]]:
    """The server's store on the session's PostgreSQL database, emptied for each example."""
    POSTGRES["cluster"].empty_tables(POSTGRES["url"])  # type: ignore[attr-defined]
    server = PostgresServer(await FlakyPostgresStore.open(POSTGRES["url"], max_size=2))
    try:
        yield server, "the-user"
    finally:
        await server.store.close()


SERVERS = {"sqlite": sqlite_server, "http": http_server, "postgresql": postgres_server}


# ---- the property -----------------------------------------------------------------------------

FAULTS = {"examples": 0, "answers lost": 0, "restarts": 0, "conflicts seen": 0,
          "conflicts after a purge (not judged)": 0}

OPS = st.tuples(
    st.sampled_from(["create", "create", "title", "title", "toggle", "toggle", "delete",
                     "offline", "online", "sync", "sync", "sync", "resolve", "purge",
                     "lose", "lose", "lose", "crash", "restart"]),
    st.integers(0, 3),
    st.integers(0, 7),
)
RUNS = st.tuples(
    st.lists(st.sampled_from(["memory", "webstorage"]), min_size=2, max_size=4),
    st.lists(OPS, min_size=10, max_size=60),
)


async def scenario(server_kind: str, tmp: str, kinds: list[str], ops: list[tuple],
                   choose) -> None:
    async with SERVERS[server_kind](tmp) as (server, user_id):
        world = World(server, kinds, user_id)
        for op in ops:
            await world.run(op)
        await world.settle(choose)
        FAULTS["examples"] += 1
        FAULTS["conflicts seen"] += world.conflicts_seen
        await world.check()


@pytest.fixture(scope="module", autouse=True)
def fault_figures():
    """Print what the faults did (shown with `pytest -s`): examples, answers lost, restarts."""
    yield
    print("\nconvergence under faults:", ", ".join(f"{k} {v}" for k, v in FAULTS.items()))


def chooser(picks: list[int]):
    """The resolutions hypothesis chose, used in turn (source, target, manual)."""
    turn = iter(range(10**9))
    return lambda n: picks[next(turn) % len(picks)]


def run_property(server_kind: str, tmp_path_factory, run, picks) -> None:
    kinds, ops = run
    tmp = tmp_path_factory.mktemp(server_kind)
    asyncio.run(scenario(server_kind, str(tmp), kinds, ops, chooser(picks)))


PICKS = st.lists(st.integers(0, 2), min_size=1, max_size=12)
EXAMPLES = settings().max_examples

# Found by hypothesis while writing the oracle: a resolution that keeps the server's title loses,
# without a conflict, to a concurrent edit based on that same title (three-way merge: the
# resolution changed nothing since the common base). Not a loss; kept as a fixed example.
RESOLUTION_VS_LATER_EDIT = (
    ["memory", "memory"],
    [("create", 0, 0), ("sync", 0, 0), ("title", 0, 0), ("sync", 1, 0), ("title", 1, 0),
     ("sync", 1, 0), ("title", 1, 0), ("sync", 0, 0)],
)

# Found by the long profile (fixed in 198e35a): c1 deletes a todo c0 had pulled, the server
# purges the tombstone, and c0's next push sent back the revision it had pulled; the server no
# longer knew the document and took it as new: the delete was silently undone on the server and
# c0, while c1 kept its tombstone (stores diverged).
PURGED_DELETE_ECHOED_BACK = (
    ["memory", "memory"],
    [("create", 0, 0)] * 4 + [("create", 1, 0), ("sync", 1, 0), ("delete", 1, 0),
                              ("sync", 0, 0), ("sync", 1, 0), ("purge", 0, 0)],
)

# Found by the long profile; not a models bug: c0 and c1 both set `completed` to True, the
# server merged the two identical changes, then c1 (having seen only its own True) set False.
# The merge base of that last step already held c0's value, so False rightly wins.
SAME_VALUE_THEN_CHANGED = (
    ["memory", "memory"],
    [("create", 0, 0), ("create", 1, 0), ("delete", 0, 0), ("sync", 1, 0), ("create", 0, 0),
     ("create", 0, 0), ("create", 0, 0), ("toggle", 1, 0), ("sync", 0, 0), ("create", 0, 0),
     ("toggle", 0, 1), ("sync", 1, 0), ("toggle", 1, 0)],
)

# Found by the long profile: c1's title edit conflicts with c0's delete; c1 then deletes the todo
# too. The recorded conflict stays, now between two tombstones: nothing left to merge by hand.
DELETE_AFTER_DELETE_CONFLICT = (
    ["memory", "memory"],
    [("create", 0, 0), ("create", 0, 0), ("create", 0, 0), ("sync", 0, 0), ("sync", 1, 0),
     ("title", 1, 0), ("delete", 0, 0), ("sync", 0, 0), ("sync", 1, 0), ("delete", 1, 0)],
)


# Found by the ci profile once answers could be lost (fixed with the unacked bodies, see
# docs/PROTOCOL.md "Lost answers"): c1's title edit reached the server but the answer was lost;
# c1 retitled, c0 toggled: different fields, yet a conflict, since neither side kept the body of
# the revision they shared (c1 never learned the server took it; the server replaced it).
LOST_PUSH_ANSWER_THEN_OTHER_FIELD = (
    ["memory", "memory"],
    [("create", 1, 0)] * 4 + [("sync", 1, 0), ("title", 1, 0), ("lose", 0, 1), ("lose", 1, 0),
                              ("title", 1, 0), ("toggle", 0, 0)],
)


# Found by the long profile: c0's creates reach the server but the answer is lost; c1 deletes
# one and the server purges the tombstone; c0's retry brings the todo back to the server, and c1,
# which thought the server held its delete, never sent it again: the stores diverged. A pull now
# sees that the server is behind the revision it was thought to hold, and the delete is re-sent.
LOST_CREATE_ANSWER_THEN_PURGED_DELETE = (
    ["memory", "memory"],
    [("create", 0, 0)] * 5 + [("lose", 0, 0), ("lose", 1, 1), ("delete", 1, 0), ("lose", 1, 1),
                              ("purge", 0, 0)],
)


# Found by the long profile next: c0's push is acknowledged but its pull answer is lost (its pull
# checkpoint stays 0); c1 deletes a todo, the server purges the tombstone. Reading from 0 is never
# refused, so c0's next pull did not resync and kept the todo. Now it is a full pass.
FIRST_PULL_AFTER_PURGE = (
    ["memory", "memory"],
    [("create", 0, 0)] * 4 + [("lose", 0, 1), ("create", 0, 0), ("lose", 1, 1), ("delete", 1, 0),
                              ("lose", 1, 1), ("purge", 0, 0)],
)


# Found by the long profile next: after a purge brought a todo back, two clients resolved their
# conflicts the same way; their resolutions have two newest common ancestors, each side kept the
# body of only one, and two identical titles were reported as a conflict. Sides that agree now
# merge without the body.
CRISS_CROSS_RESOLUTIONS_AGREE = (
    ["memory", "memory", "memory"],
    [("create", 0, 0), ("sync", 0, 0), ("lose", 1, 1), ("title", 0, 0), ("title", 1, 0),
     ("lose", 1, 0), ("sync", 2, 0), ("delete", 2, 0), ("sync", 2, 0), ("purge", 0, 0)],
)


@given(run=RUNS, picks=PICKS)
@example(run=CRISS_CROSS_RESOLUTIONS_AGREE, picks=[0])
@example(run=FIRST_PULL_AFTER_PURGE, picks=[0])
@example(run=LOST_CREATE_ANSWER_THEN_PURGED_DELETE, picks=[0])
@example(run=LOST_PUSH_ANSWER_THEN_OTHER_FIELD, picks=[0])
@example(run=DELETE_AFTER_DELETE_CONFLICT, picks=[2])
@example(run=SAME_VALUE_THEN_CHANGED, picks=[0])
@example(run=PURGED_DELETE_ECHOED_BACK, picks=[0])
@example(run=RESOLUTION_VS_LATER_EDIT, picks=[0])
@example(run=RESOLUTION_VS_LATER_EDIT, picks=[1])
@example(run=RESOLUTION_VS_LATER_EDIT, picks=[2])
@settings(max_examples=EXAMPLES)
def test_converge_with_sqlite_server(tmp_path_factory, run, picks):
    run_property("sqlite", tmp_path_factory, run, picks)


@given(run=RUNS, picks=PICKS)
@example(run=FIRST_PULL_AFTER_PURGE, picks=[0])
@example(run=LOST_PUSH_ANSWER_THEN_OTHER_FIELD, picks=[0])
@example(run=RESOLUTION_VS_LATER_EDIT, picks=[1])
@settings(max_examples=max(1, EXAMPLES // 4))
def test_converge_with_postgres_server(tmp_path_factory, postgres_cluster, _postgres_shared_url,
                                       run, picks):
    """The server's store on PostgreSQL (the throwaway cluster), with the same faults."""
    POSTGRES.update(cluster=postgres_cluster, url=_postgres_shared_url)
    run_property("postgresql", tmp_path_factory, run, picks)


@given(run=RUNS, picks=PICKS)
@example(run=LOST_PUSH_ANSWER_THEN_OTHER_FIELD, picks=[0])
@example(run=RESOLUTION_VS_LATER_EDIT, picks=[0])
@settings(max_examples=max(1, EXAMPLES // 4))
def test_converge_with_http_server(tmp_path_factory, run, picks):
    """The real app: `create_app` over `httpx.ASGITransport`, reached through `RemoteStore`."""
    run_property("http", tmp_path_factory, run, picks)
