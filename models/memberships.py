"""Each user's memberships (`{group id: role}`) in a local store, kept current by reading only the
group documents that changed since the last look.

The access rules of a model whose documents belong to groups need the user's roles before every
check (models/model_access.py). Reading every group document each time would make each local
write cost the whole store (the browser's localStorage has no index) and each request on the
server cost every list; instead one `Memberships` per store and group model keeps the groups
it has read, indexed by member, and catches up through the feed (changes after its checkpoint,
on the index, tombstones included). A purge of group tombstones past its checkpoint, or a store
that forgot documents (`LocalStore.evict`), starts it over.
"""

from __future__ import annotations

from typing import Any

from .document import Document

PAGE = 1000


class Memberships:
    def __init__(self, group: Any) -> None:
        self.group = group
        self.checkpoint = 0
        self.docs: dict[str, Document] = {}
        self.by_user: dict[str, dict[str, str]] = {}

    async def of(self, store: Any, user_id: str | None) -> dict[str, str]:
        """`user_id`'s memberships in `store` now (their default list included)."""
        await self._catch_up(store)
        found = self.group.memberships_from((), user_id)
        if user_id:
            found.update(self.by_user.get(user_id, {}))
        return found

    async def _catch_up(self, store: Any) -> None:
        collection = self.group.collection
        if self.checkpoint and await store.purge_horizon(collection) > self.checkpoint:
            self.__init__(self.group)  # tombstones we never read are gone: read all again
        while page := await store.adapter.feed_docs(collection, self.checkpoint, PAGE):
            for doc in page:
                self._put(doc)
            self.checkpoint = page[-1].checkpoint

    def _put(self, doc: Document) -> None:
        old = self.docs.pop(doc.id, None)
        if old is not None:
            for user in self.group.members_of(old.data or {}):
                self.by_user.get(user, {}).pop(doc.id, None)
        if doc.deleted or doc.data is None:
            return
        self.docs[doc.id] = doc
        for user in self.group.members_of(doc.data):
            role = self.group.role_of(doc, user)
            if role is not None:
                self.by_user.setdefault(user, {})[doc.id] = role


def cache_of(store: Any, group: Any) -> Memberships | None:
    derived = getattr(store, "derived", None)
    return None if derived is None else derived.get(("memberships", group.collection))


def known_memberships(store: Any, group: Any, user_id: str | None) -> dict[str, str]:
    """What the store's `Memberships` last read, without reading the store (for a caller that
    cannot wait: a live poke); the default list alone when it read nothing yet."""
    found = group.memberships_from((), user_id)
    cache = cache_of(store, group)
    if cache is not None and user_id:
        found.update(cache.by_user.get(user_id, {}))
    return found


async def memberships_in(store: Any, group: Any, user_id: str | None) -> dict[str, str]:
    """The memberships of `user_id` among `group`'s documents in `store`: through the store's
    `Memberships` when it is a local store, else by reading every group document."""
    if not hasattr(store, "adapter") or not hasattr(store, "purge_horizon"):
        docs = await store.find(group.collection, group.query())
        return group.memberships_from(docs, user_id)
    kept = store.__dict__.setdefault("derived", {})
    cache = kept.get(("memberships", group.collection))
    if cache is None:
        cache = kept[("memberships", group.collection)] = Memberships(group)
    return await cache.of(store, user_id)


__all__ = ["Memberships", "known_memberships", "memberships_in"]
