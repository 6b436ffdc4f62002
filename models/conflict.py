"""A conflict between two stores, and the three ways to settle it (LoopBack's `Conflict`).

Both versions are kept until the user decides: the target's document stays as it is, and the
source's revision is recorded beside it (`Store.conflicts`). A resolution writes one new revision
that descends from both, so replicating it anywhere is a fast-forward and the conflict disappears
on every side once synced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .changes import Change, ChangeType
from .document import Document
from .outcome import Outcome
from .ownership import owner_of
from .revisions import join_histories, merge_revision
from .stores.store import Store

if TYPE_CHECKING:
    from .model import Model


class Conflict:
    def __init__(
        self,
        model: type[Model],
        source_doc: Document,
        target_doc: Document | None,
        target: Store,
        source: Store | None = None,
    ) -> None:
        self.model = model
        self.id = source_doc.id
        self.source_doc = source_doc
        self.target_doc = target_doc
        self.target = target
        self.source = source

    def __repr__(self) -> str:
        theirs = self.target_doc.rev if self.target_doc else None
        return f"Conflict({self.model.collection} {self.id!r}: {self.source_doc.rev} vs {theirs})"

    def models(self) -> tuple[Model | None, Model | None]:
        """The source's and the target's version as model instances (None where deleted)."""
        return _instance(self.model, self.source_doc), _instance(self.model, self.target_doc)

    def changes(self) -> tuple[Change, Change | None]:
        return self.source_doc.change, self.target_doc.change if self.target_doc else None

    def type(self) -> str:
        """`update` when both sides edited, `delete` when one of them deleted."""
        docs = [self.source_doc, self.target_doc]
        return "delete" if any(doc is None or doc.deleted for doc in docs) else "update"

    def swap_parties(self) -> Conflict:
        """The same conflict seen from the other side (needs both stores and both documents)."""
        if self.source is None or self.target_doc is None:
            raise ValueError("this conflict was loaded from one store; it cannot swap parties")
        return Conflict(self.model, self.target_doc, self.source_doc, self.source, self.target)

    async def resolve_using_source(self) -> Outcome:
        return await self._resolve(self.source_doc.data, self.source_doc.deleted)

    async def resolve_using_target(self) -> Outcome:
        current = await self.target.get_any(self.model.collection, self.id)
        return await self._resolve(current.data if current else None,
                                   current is None or current.deleted)

    async def resolve_manually(self, data: dict[str, Any]) -> Outcome:
        """Settle on `data`, validated by the model first (a ValidationError changes nothing)."""
        obj = self.model.from_dict({**data, "id": self.id})
        obj.validate()
        return await self._resolve(obj.to_dict(), False)

    async def _resolve(self, data: dict | None, deleted: bool) -> Outcome:
        collection = self.model.collection
        current = await self.target.get_any(collection, self.id)  # it may have moved on
        parents = [self.source_doc.rev] + ([current.rev] if current else [])
        history = join_histories(parents, self.source_doc.history,
                                 current.history if current else ())
        resolution = Document(
            collection, self.id, merge_revision(parents, None if deleted else data, deleted), 0,
            deleted, None if deleted else data,
            ChangeType.DELETE if deleted else ChangeType.UPDATE, history,
            self.source_doc.rev, self.source_doc.data,
            owner_of(collection, data, current.owner if current else self.source_doc.owner),
        )
        (outcome,) = await self.target.apply(collection, [resolution], from_peer=False)
        return outcome


def _instance(model: type[Model], doc: Document | None) -> Model | None:
    if doc is None or doc.deleted:
        return None
    return model.from_dict(doc.data or {}, rev=doc.rev)


async def stored_conflicts(store: Store, model: type[Model]) -> list[Conflict]:
    """The conflicts `store` recorded for `model`, ready to resolve (they survive reloads)."""
    return [
        Conflict(model, theirs, mine, store)
        for mine, theirs in await store.conflicts(model.collection)
    ]
