"""Access that changes: when a write gives a group new members, everything the group owns is
brought to them, however old.

A member's pull reads the changes after their checkpoint among the owners they may read; a todo
written long before they joined is behind that checkpoint. So when a group document (a list)
gains a member, every document it owns, in every model whose documents belong to that group
model, gets a new checkpoint with its revision unchanged (`LocalStore.restamp`): the new
member's next pull, from any device, brings it, and the per-owner feed stays a walk over what
changed. Others who already hold it receive the same revision again (`unchanged`). A group
deleted deletes what it owns (`LocalStore.delete_owned`). Revocation needs nothing here: the
owners a pull answers (`owners` in the changes answer) no longer name the group, and each
device forgets it (`LocalStore.evict`, docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from models.document import Document
from models.model import Model
from models.stores import Store

from . import live


def is_group(model: type[Model]) -> bool:
    """Whether `model`'s documents are the groups its own access follows (a list)."""
    groups = getattr(model, "groups", None)
    return groups is not None and groups.collection == model.collection


async def before_write(store: Store, model: type[Model],
                       ids: Iterable[str]) -> dict[str, Document | None]:
    """The stored group documents a write is about to change (nothing for other models)."""
    if not is_group(model):
        return {}
    return {id: await store.get_any(model.collection, id) for id in ids}


async def account_ids(request: Request, model: type[Model], ids: Iterable[str]) -> set[str]:
    """The ids among `ids` that are accounts of this server, when `model` is a group model (a
    list): a group document may not take one. A document owned by a user's id is that user's
    (`access.roles_of`), so a list with someone's account id would make them owner of another's
    list, and its owner a member of whatever that user owns directly."""
    if not is_group(model):
        return set()
    accounts = request.app.state.accounts
    return {id for id in set(ids) if isinstance(id, str) and await accounts.get(id) is not None}


def members(model: type[Model], doc: Document | None) -> set[str]:
    if doc is None or doc.deleted or doc.data is None:
        return set()
    return set(model.members_of(doc.data))  # type: ignore[attr-defined]


async def reach_new_members(request: Request, store: Store, model: type[Model],
                            before: dict[str, Document | None],
                            written: Iterable[Document | None]) -> None:
    """Restamp what each written group owns when it gained a member, and poke the live
    streams of whoever may read it. A group deleted takes what it owns with it: a tombstone
    each (nobody may read them any more, and an id of a group purged and taken again must not
    bring them back)."""
    if not is_group(model):
        return
    owned_by_it = [m for m in request.app.state.models.values()
                   if getattr(m, "groups", None) is model.groups and not is_group(m)]
    for doc in written:
        old = before.get(doc.id) if doc is not None else None
        if doc is not None and doc.deleted and old is not None and not old.deleted:
            for dependent in owned_by_it:
                await store.delete_owned(dependent.collection, doc.id)  # type: ignore
            continue
        if doc is None or not members(model, doc) - members(model, old):
            continue
        for dependent in owned_by_it:
            if await store.restamp(dependent.collection, doc.id):  # type: ignore[attr-defined]
                await live.notify(request, [live.Change(dependent.collection, doc.id,
                                                        await store.checkpoint())])
