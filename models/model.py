"""The declarative model base and the async data API every store shares.

    class Todo(Model):
        collection = "todos"
        title = String(required=True, trim=True, max_length=500)

    Todo.bind(store)
    todo = await Todo.create(title="Buy milk")
    await Todo.find(where={"completed": False}, order="order ASC", limit=10)

The model validates before every write and runs its hooks; the store it is bound to only stores.
"""

from __future__ import annotations

import inspect
import json
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, TypeVar

from . import bulk, ownership
from .access import WRITE, AccessRule
from .document import Document
from .errors import OffsyncError, ValidationError
from .fields import DateTime, Field, FieldError, String, utc_now
from .filters import Query, normalize
from .model_access import AccessControlled
from .model_replication import Replicable
from .stores.store import Store

M = TypeVar("M", bound="Model")

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # fullmatch: "$" would let a trailing "\n" in


def new_id() -> str:
    """Random, collision-free ids made where the object is created: offline clients never clash."""
    return secrets.token_hex(16)


def _valid_id(value: str) -> str | None:
    return None if ID_PATTERN.fullmatch(value) else "must be 1-64 letters, digits, '-' or '_'"


class Model(AccessControlled, Replicable):
    collection: ClassVar[str] = ""
    fields: ClassVar[dict[str, Field]] = {}
    acl: ClassVar[tuple[AccessRule, ...]] = ()
    store: ClassVar[Store | None] = None
    user_id: ClassVar[str | None] = None  # who acts, once `as_user` turned enforcement on
    enforce_access: ClassVar[bool] = False
    clock: ClassVar[Callable[[], str]] = staticmethod(utc_now)
    # Model versions (models/migrations.py): the current version, one step from each older
    # version to the next, and documents of older versions the start-up check migrates.
    version: ClassVar[int] = 1
    migrations: ClassVar[dict[int, Callable[[dict], dict]]] = {}
    migration_samples: ClassVar[dict[int, list[dict]]] = {}

    id = String(validators=(_valid_id,),
                description="Random string made where the object is created")

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        collected: dict[str, Field] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Field):
                    collected[name] = value
        cls.fields = collected
        if not cls.collection:
            cls.collection = cls.__name__.lower() + "s"
        if "owned_by" in vars(cls):
            ownership.register(cls.collection, cls.owned_by)

    def __init__(self, **values: Any) -> None:
        unknown = sorted(set(values) - set(self.fields) - {"_rev"})
        if unknown:
            raise ValidationError(
                type(self).__name__, {name: ["is not a field of this model"] for name in unknown}
            )
        self._rev: str | None = values.get("_rev")
        for name, field in self.fields.items():
            self.__dict__[name] = values[name] if name in values else field.make_default()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    # ---- binding ------------------------------------------------------------------------------
    @classmethod
    def bind(cls, store: Store) -> type[Self]:
        """Bind this class to a store, in place. Returns the class for chaining."""
        cls.store = store
        return cls

    @classmethod
    def using(cls, store: Store) -> type[Self]:
        """A subclass bound to `store`, leaving this class as it was (two stores in one process)."""
        return type(cls.__name__, (cls,), {"store": store, "collection": cls.collection,
                                           "__module__": cls.__module__})

    @classmethod
    def as_user(cls, user_id: str | None) -> type[Self]:
        """A subclass acting for `user_id` (None: anonymous): the access rules are enforced on
        every call, and new documents are owned by that user. The server and the browser both
        use it, so the local API refuses exactly what the server would, with the same message.
        A class never given a user is the trusted, server-internal view."""
        return type(cls.__name__, (cls,), {"user_id": user_id, "enforce_access": True,
                                           "collection": cls.collection,
                                           "__module__": cls.__module__})

    @classmethod
    def _store(cls) -> Store:
        if cls.store is None:
            raise OffsyncError(
                f"{cls.__name__} is not bound to a store: call {cls.__name__}.bind()")
        return cls.store

    # ---- validation and JSON ------------------------------------------------------------------
    def validate(self) -> None:
        """Clean every field in place, or raise one ValidationError naming every bad field."""
        problems: dict[str, list[str]] = {}
        cleaned: dict[str, Any] = {}
        for name, field in self.fields.items():
            try:
                cleaned[name] = field.clean(self.__dict__.get(name))
            except FieldError as exc:
                problems.setdefault(name, []).append(str(exc))
        if not problems:
            self.__dict__.update(cleaned)
            for name, messages in (self.check() or {}).items():
                problems.setdefault(name, []).extend(messages)
        if problems:
            raise ValidationError(type(self).__name__, problems)

    def check(self) -> dict[str, list[str]] | None:
        """Rules across fields: override and return {field: [messages]}."""
        return None

    @classmethod
    def adopted(cls, data: dict, owner: str) -> dict:
        """`data` (a body another server wrote) made `owner`'s: what moving one's data between
        servers does to it (owners are each server's ids). Override when other fields follow
        from the owner."""
        return {**data, "owner": owner}

    def complete(self, is_new: bool) -> None:
        """Fill what follows from other fields before the access rules look (a todo's list
        from its owner); override. Runs on every save, before `before_save`."""

    def to_dict(self) -> dict[str, Any]:
        return {name: self.__dict__.get(name) for name in self.fields}

    def to_json(self) -> str:
        return json.dumps({**self.to_dict(), "_rev": self._rev}, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], rev: str | None = None) -> Self:
        obj = cls(**{k: v for k, v in data.items() if k != "_rev"})
        obj._rev = rev if rev is not None else data.get("_rev")
        return obj

    @classmethod
    def from_json(cls, text: str) -> Self:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(cls.__name__, {"_json": [f"is not valid JSON: {exc}"]}) from None
        if not isinstance(data, dict):
            raise ValidationError(cls.__name__, {"_json": ["must be a JSON object"]})
        return cls.from_dict(data)

    @classmethod
    def _from_doc(cls, doc: Document) -> Self:
        obj = cls.from_dict(doc.data or {}, rev=doc.rev)
        return obj

    # ---- hooks (override; may be async) -------------------------------------------------------
    def before_save(self, is_new: bool) -> Any: ...
    def after_save(self, is_new: bool) -> Any: ...
    def before_delete(self) -> Any: ...
    def after_delete(self) -> Any: ...

    async def _hook(self, name: str, *args: Any) -> None:
        result = getattr(self, name)(*args)
        if inspect.isawaitable(result):
            await result

    # ---- data API -----------------------------------------------------------------------------
    @classmethod
    def query(cls, where: Any = None, order: Any = None, limit: Any = None,
              skip: Any = None) -> Query:
        return normalize(cls.fields, where=where, order=order, limit=limit, skip=skip)

    @classmethod
    async def create(cls, **values: Any) -> Self:
        obj = cls(**values)
        await obj.save()
        return obj

    @classmethod
    async def find(
        cls, where: Any = None, order: Any = None, limit: Any = None, skip: Any = None
    ) -> list[Self]:
        docs = await cls.find_documents(cls.query(where, order, limit, skip))
        return [cls._from_doc(doc) for doc in docs]

    @classmethod
    async def find_documents(cls, query: Query) -> list[Document]:
        """The stored documents matching `query` (checked already, see `query`) that this
        class's user may read: what `find` reads, for a caller that needs the documents (the
        REST API answers with the stored bodies and revisions)."""
        acting = await cls.resolved()
        return await cls._store().find(cls.collection, acting._scoped(query))

    @classmethod
    async def find_one(cls, where: Any = None, order: Any = None) -> Self | None:
        found = await cls.find(where=where, order=order, limit=1)
        return found[0] if found else None

    @classmethod
    async def find_by_id(cls, id: str) -> Self | None:
        doc = await cls.get_document(id)
        return None if doc is None else cls._from_doc(doc)

    @classmethod
    async def get_document(cls, id: Any) -> Document | None:
        """The live stored document `id` if this class's user may read it, else None (as for
        an id no document can have)."""
        if cls.id_problem(id):
            return None
        doc = await cls._store().get(cls.collection, id)
        return doc if doc is not None and (await cls.resolved()).readable(doc) else None

    @classmethod
    async def count(cls, where: Any = None) -> int:
        return await cls.count_documents(cls.query(where))

    @classmethod
    async def count_documents(cls, query: Query) -> int:
        """How many stored documents match `query` (checked already) among those this class's
        user may read."""
        acting = await cls.resolved()
        return await cls._store().count(cls.collection, acting._scoped(query))

    @property
    def is_new(self) -> bool:
        return self._rev is None

    async def save(self) -> None:
        """Validate, run hooks, and write; raises ConflictError if someone else wrote first.

        If anything fails, the object is put back as it was, so a retry starts from the same state.
        """
        before = dict(self.__dict__)
        try:
            await self._save()
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    async def _save(self) -> None:
        is_new = self.is_new
        self._complete_for_save(is_new)
        cls = type(self)
        if cls.enforce_access:
            acting = await cls.resolved()
            stored = None if is_new else await self._store().get_any(self.collection, self.id)
            self._check_write(acting, stored)
        await self._hook("before_save", is_new)
        self._stamp_and_validate(type(self).clock())
        doc = await self._store().write(
            self.collection, self.id, self.to_dict(), base_rev=self._rev
        )
        self._took(doc)
        await self._hook("after_save", is_new)

    def _complete_for_save(self, is_new: bool) -> None:
        """What a save fills before the access rules look: the id, the creator, `complete`."""
        if self.id is None:
            self.id = new_id()
        cls = type(self)
        if cls.enforce_access and is_new and "owner" in self.fields \
                and self.__dict__.get("owner") is None:
            self.__dict__["owner"] = cls.user_id
        self.complete(is_new)

    def _check_write(self, acting: Any, stored: Document | None,
                     data: dict | None = None) -> None:
        """The access rules on writing this object (its body `data`) over `stored` (None:
        nothing stored, or a create): the new body's owner and the stored one's (unless the
        write is a member leaving a group), who created it, and which group it belongs to."""
        cls = type(self)
        data = self.to_dict() if data is None else data
        bodies = [(ownership.owner_of(self.collection, data), data)]
        if stored is not None:
            bodies.append((stored.owner, stored.data))
        if all(owner is None for owner, _ in bodies):
            bodies = [(None, None)]
        leaving = stored is not None and not stored.deleted \
            and acting.is_leaving(stored.data, data, cls.user_id)
        for owner, body in bodies:
            if (owner is not None or len(bodies) == 1) and not leaving:
                acting._enforce(WRITE, owner, body)
        before = stored.data if stored and not stored.deleted else None
        if acting.creator_changed(data, before):
            raise acting._denied(WRITE)
        if acting.group_changed(data, before):
            raise acting.group_change_refused()

    def _stamp_and_validate(self, now: str) -> None:
        for name, field in self.fields.items():
            stamp = isinstance(field, DateTime) and (
                field.auto_now or (field.auto_now_add and self.__dict__.get(name) is None)
            )
            if stamp:
                self.__dict__[name] = now
        self.validate()

    def _took(self, doc: Document) -> None:
        """The stored document's body and revision, after a write."""
        self.__dict__.update({k: v for k, v in (doc.data or {}).items() if k in self.fields})
        self._rev = doc.rev

    def _check_delete(self, acting: Any, stored: Document | None) -> None:
        """The access rules on deleting this object: the stored document's owner (this
        object's, when nothing is stored)."""
        if stored is not None:
            acting._enforce(WRITE, stored.owner, stored.data)
        else:
            data = self.to_dict()
            acting._enforce(WRITE, ownership.owner_of(self.collection, data), data)

    async def update(self, **values: Any) -> None:
        """Change some fields and save (LoopBack's `updateAttributes`)."""
        unknown = sorted(set(values) - set(self.fields))
        if unknown:
            raise ValidationError(
                type(self).__name__, {name: ["is not a field of this model"] for name in unknown}
            )
        self.__dict__.update(values)
        await self.save()

    # ---- bulk: many objects, one store transaction (models/bulk.py) ----------------------------
    @classmethod
    async def update_many(cls, objs: Iterable[Model], **values: Any) -> list[Document]:
        """`obj.update(**values)` for each object, written in one store transaction: every
        one is saved, or none is and each object is as it was. Returns the stored documents
        (for a caller keeping a copy). See `models.bulk`."""
        return await bulk.update_many(cls, list(objs), values)

    @classmethod
    async def delete_many(cls, objs: Iterable[Model]) -> list[Document]:
        """`obj.delete()` for each object, in one store transaction: all or none. Returns the
        tombstones."""
        return await bulk.delete_many(cls, list(objs))

    async def delete(self) -> None:
        if type(self).enforce_access:
            acting = await type(self).resolved()
            self._check_delete(acting, await self._store().get_any(self.collection, self.id))
        await self._hook("before_delete")
        await self._store().write(self.collection, self.id, None, base_rev=self._rev)
        self._rev = None
        await self._hook("after_delete")
