"""The other side of a replication or sync: peer stores, a server that loses answers, and
ways to compare what two stores hold."""

from __future__ import annotations

from models import DictStorage, MemoryStore, Todo, TransportError, WebStorageStore, replicate, sync

from .helpers import FakeClock

PEER_KINDS = ("memory", "webstorage")


def make_peer(kind: str = "memory"):
    return MemoryStore() if kind == "memory" else WebStorageStore(DictStorage())


def todos_on(store, clock: FakeClock | None = None):
    """`Todo` bound to `store`, with a hand-moved clock so revisions never depend on timing."""
    T = Todo.using(store)
    T.clock = clock or FakeClock()
    return T


async def state(store, model: str = "todos") -> dict[str, tuple]:
    """Every document and tombstone: {id: (rev, deleted, data)}."""
    return {d.id: (d.rev, d.deleted, d.data) for d in await store.feed(model, 0, 10**9)}


async def live(store, model: str = "todos") -> dict[str, tuple]:
    return {id: (rev, data) for id, (rev, deleted, data) in (await state(store, model)).items()
            if not deleted}


async def replicate_todos(source, target, since=None, **kw):
    return await replicate(source, target, since, models=[Todo], **kw)


async def assert_converged(a, b, what: str = "") -> None:
    sa, sb = await live(a), await live(b)
    assert sa == sb, f"{what}: stores differ:\n{sa}\n{sb}"
    for side, st in (("a", a), ("b", b)):
        left = await st.conflicts("todos")
        assert not left, f"{what}: conflicts left on {side}: {left}"


async def seed_todos(store, n: int, clock: FakeClock | None = None, prefix: str = "t") -> list:
    T = todos_on(store, clock)
    return [await T.create(id=f"{prefix}{i}", title=f"todo {i}", order=i) for i in range(n)]


async def conflicting_pair(store, other, *, store_change, other_change):
    """One todo known to both stores, then changed on each side: returns (store obj, other obj).

    `*_change` is ("title", value), ("toggle", None) or ("delete", None).
    """
    clock = FakeClock()
    S, Peer = todos_on(store, clock), todos_on(other, clock)
    await S.create(id="x", title="base", order=1)
    await replicate_todos(store, other)
    await replicate_todos(other, store)  # both know each other holds the base
    clock.tick()
    mine, theirs = await S.find_by_id("x"), await Peer.find_by_id("x")
    for obj, (kind, value) in ((mine, store_change), (theirs, other_change)):
        if kind == "title":
            await obj.update(title=value)
        elif kind == "toggle":
            await obj.update(completed=not obj.completed)
        else:
            await obj.delete()
    return mine, theirs


class LosingAnswers(MemoryStore):
    """A server whose answers can be lost after it did the work: the request is applied (or the
    page read), then the caller gets a `TransportError`, as with a dropped connection or a server
    killed between its commit and its reply. `lose_apply_at = n` loses the answer of the n-th
    `apply` from now, `lose_feed_at` the n-th page read (`feed` with a limit)."""

    def __init__(self, fail_every: int | None = None) -> None:
        super().__init__()
        self.lose_apply_at: int | None = None
        self.lose_feed_at: int | None = None
        self.fail_every = fail_every  # or lose every n-th page answer (reads and applies)
        self.pages = 0
        self.lost = 0
        self.served = 0  # docs in page answers, lost ones included
        self.received = 0  # docs in applied batches, lost answers included

    def _lose(self, attr: str) -> bool:
        self.pages += 1
        if self.fail_every is not None and self.pages % self.fail_every == 0:
            self.lost += 1
            return True
        left = getattr(self, attr)
        if left is None:
            return False
        setattr(self, attr, None if left <= 1 else left - 1)
        if left <= 1:
            self.lost += 1
        return left <= 1

    async def apply(self, model, docs, **kw):
        outcomes = await super().apply(model, docs, **kw)
        self.received += len(docs)
        if self._lose("lose_apply_at"):
            raise TransportError("the answer to sync/apply was lost (the server applied it)")
        return outcomes

    async def feed(self, model, since=0, limit=1000, **kw):
        docs = await super().feed(model, since, limit, **kw)
        if limit > 0:
            self.served += len(docs)
            if self._lose("lose_feed_at"):
                raise TransportError("the answer to sync/changes was lost")
        return docs


async def try_sync(local, remote, models=(Todo,), **kw):
    """One sync that may fail on a lost answer: the result, or None after a TransportError."""
    try:
        return await sync(local, remote, models=list(models), **kw)
    except TransportError:
        return None
