"""Many objects of one model saved or deleted as one store transaction (`Model.update_many`,
`Model.delete_many`): "toggle all" and "clear completed" over 10,000 todos.

Each object goes through what its own `update` or `delete` does, in the same order, with the
same messages: the access rules, the hooks, the stamps, validation, and a write based on the
revision the object was read at. What is done once instead of once per object: the user's
memberships are read once (`resolved`), the clock is read once (every object gets the same
`updated_at`), and the store writes them all in one transaction (`Store.write_many`), reading
what it needs at once. So the documents, revisions, checkpoints and merge bases are what the same
changes one by one would make, and sync, conflicts and three-way merges see no difference.

Validation is done once per distinct change: a field whose value the batch changed is cleaned
once per distinct value (`completed: true` once for 10,000 todos), a field it left as the object
was given is the stored value, validated when it was written; the model's rules across fields
(`check`) run on every object. A new object (no revision) is validated in full.

The one difference in order: the access rules on the *stored* document (its owner, who
created it) are checked inside the store's transaction as each document is written (on what is
stored then), after the hooks and validation of every object ran; a save one by one checks them
first. So an object that breaks both such a rule and validation is refused for validation here.
An object whose new body its user may not write is refused before any hook, as one by one.
"""

from __future__ import annotations

from typing import Any

from .access import WRITE
from .document import Document
from .errors import OffsyncError, ValidationError
from .fields import DateTime, FieldError
from .model_access import AccessControlled
from .ownership import DEFAULT_FIELD, owner_of


def _unique(objs: list[Any]) -> None:
    ids = [obj.id for obj in objs if obj.id is not None]
    if len(set(ids)) != len(ids):
        raise OffsyncError("the same object is given twice: each may be written once in a batch")


async def update_many(cls: Any, objs: list[Any], values: dict) -> list[Document]:
    """`obj.update(**values)` for each of `objs`, in one transaction; on any failure every
    object is put back as it was and nothing is written. Returns the documents as stored."""
    unknown = sorted(set(values) - set(cls.fields))
    if unknown:
        raise ValidationError(cls.__name__,
                              {name: ["is not a field of this model"] for name in unknown})
    _unique(objs)
    before = [dict(obj.__dict__) for obj in objs]
    try:
        return await _save_many(cls, objs, values, before)
    except BaseException:
        for obj, was in zip(objs, before, strict=True):
            obj.__dict__.clear()
            obj.__dict__.update(was)
        raise


async def _save_many(cls: Any, objs: list[Any], values: dict,
                     given: list[dict]) -> list[Document]:
    acting = await cls.resolved() if cls.enforce_access else cls
    access = _Access(acting)
    now = cls.clock()
    news: dict[str, bool] = {}
    checked = _Cleaned(cls)
    writes = []
    for obj, was in zip(objs, given, strict=True):
        obj.__dict__.update(values)
        is_new = obj.is_new
        obj._complete_for_save(is_new)
        news[obj.id] = is_new
        if cls.enforce_access:  # what a save one by one checks first, when it can be told now
            access.new_body(obj.to_dict())
        await obj._hook("before_save", is_new)
        if is_new:
            obj._stamp_and_validate(now)
        else:
            _stamp(obj, now)
            checked.validate(obj, was)  # `was`: as read from the store
        writes.append((obj.id, obj.to_dict(), obj._rev))
    by_id = {obj.id: (obj, data) for obj, (_, data, _) in zip(objs, writes, strict=True)}

    def check(id: str, current: Any) -> None:
        obj, data = by_id[id]
        access.write(obj, data, None if news[id] else current)

    docs = await cls._store().write_many(cls.collection, writes,
                                         check=check if cls.enforce_access else None)
    for obj, doc in zip(objs, docs, strict=True):
        obj._took(doc)
    for obj in objs:
        await obj._hook("after_save", news[obj.id])
    return docs


class _Access:
    """The access rules of a batch, each distinct case decided once: when the model's bodies
    give no roles of their own (`own_role`), what decides is only who owns the new body and
    the stored one, and who created each. A refusal ends the batch, so only passes are kept."""

    def __init__(self, acting: Any) -> None:
        self.acting = acting
        plain = getattr(acting.own_role, "__func__", None) is AccessControlled.own_role.__func__
        self.passed: set[tuple] | None = set() if plain else None

    def new_body(self, data: dict) -> None:
        owner = owner_of(self.acting.collection, data)
        if owner is None:
            return
        key = ("new", owner)
        if self.passed is None or key not in self.passed:
            self.acting._enforce(WRITE, owner, data)
            if self.passed is not None:
                self.passed.add(key)

    def write(self, obj: Any, data: dict, stored: Document | None) -> None:
        if self.passed is None:
            obj._check_write(self.acting, stored, data)
            return
        made = stored.data.get(DEFAULT_FIELD) if stored is not None and stored.data else None
        key = (owner_of(self.acting.collection, data), data.get(DEFAULT_FIELD), stored is None,
               stored.owner if stored else None, stored.deleted if stored else None, made)
        if key not in self.passed:
            obj._check_write(self.acting, stored, data)
            self.passed.add(key)

    def delete(self, obj: Any, stored: Document | None) -> None:
        if self.passed is None:
            obj._check_delete(self.acting, stored)
            return
        data = None if stored is not None else obj.to_dict()
        key = ("delete", stored.owner if stored is not None else owner_of(
            self.acting.collection, data), stored is None)
        if key not in self.passed:
            obj._check_delete(self.acting, stored)
            self.passed.add(key)


def _stamp(obj: Any, now: str) -> None:
    for name, field in obj.fields.items():
        if isinstance(field, DateTime) and (
                field.auto_now or (field.auto_now_add and obj.__dict__.get(name) is None)):
            obj.__dict__[name] = now


class _Cleaned:
    """Validation of a batch: each field whose value differs from the one the object was given
    with is cleaned, once per distinct value (every object gets the same `completed`); the
    fields the batch leaves as they were are the stored values, validated when written. Then
    the model's rules across fields (`check`), per object. One ValidationError names every bad
    field of the first object found bad, in the model's words."""

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        self.memo: dict[tuple[str, type, Any], tuple[bool, Any]] = {}

    def clean(self, name: str, field: Any, value: Any) -> tuple[bool, Any]:
        try:
            key = (name, type(value), value)
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self.memo:
            return self.memo[key]
        try:
            found: tuple[bool, Any] = (True, field.clean(value))
        except FieldError as exc:
            found = (False, str(exc))
        if key is not None:
            self.memo[key] = found
        return found

    def validate(self, obj: Any, given: dict) -> None:
        values = obj.__dict__
        problems: dict[str, list[str]] = {}
        cleaned = {}
        for name, field in obj.fields.items():
            value = values.get(name)
            if name in given and given[name] == value and type(given[name]) is type(value):
                continue
            ok, result = self.clean(name, field, value)
            if ok:
                cleaned[name] = result
            else:
                problems.setdefault(name, []).append(result)
        if not problems:
            values.update(cleaned)
            for name, messages in (obj.check() or {}).items():
                problems.setdefault(name, []).extend(messages)
        if problems:
            raise ValidationError(type(obj).__name__, problems)


async def delete_many(cls: Any, objs: list[Any]) -> list[Document]:
    """`obj.delete()` for each of `objs`, in one transaction: all deleted, or none. Returns
    the tombstones as stored."""
    _unique(objs)
    acting = await cls.resolved() if cls.enforce_access else cls
    access = _Access(acting)
    for obj in objs:
        await obj._hook("before_delete")
    by_id = {obj.id: obj for obj in objs}

    def check(id: str, current: Any) -> None:
        access.delete(by_id[id], current)

    docs = await cls._store().write_many(
        cls.collection, [(obj.id, None, obj._rev) for obj in objs],
        check=check if cls.enforce_access else None)
    for obj in objs:
        obj._rev = None
    for obj in objs:
        await obj._hook("after_delete")
    return docs


__all__ = ["delete_many", "update_many"]
