"""The replication half of `Model`: how two sides of a document merge, and which replicated
documents it refuses (the same rules as a local save, so a peer cannot write what a user could
not)."""

from __future__ import annotations

from typing import Any, ClassVar

from .access import WRITE
from .document import Document
from .errors import ValidationError
from .fields import DateTime, FieldError


class Replicable:
    """Mixed into `Model`, which defines these class attributes and `can`/`_denied`."""

    fields: ClassVar[dict[str, Any]]
    user_id: ClassVar[str | None]
    enforce_access: ClassVar[bool]

    @classmethod
    def merge(cls, base: dict, mine: dict, theirs: dict) -> dict | None:
        """Both sides changed a document since `base`: the merged body, or None for a conflict.

        Field by field; fields stamped on every save (`auto_now`) never conflict, the later
        stamp wins. Override for other rules.
        """
        from .reconcile import three_way_merge

        stamped = [n for n, f in cls.fields.items() if isinstance(f, DateTime) and f.auto_now]

        def rest(data: dict) -> dict:
            return {k: v for k, v in data.items() if k not in stamped}

        merged = three_way_merge(rest(base), rest(mine), rest(theirs))
        if merged is None:
            return None
        for name in stamped:
            stamps = [v for v in (mine.get(name), theirs.get(name)) if isinstance(v, str)]
            merged[name] = max(stamps) if stamps else None
        return merged

    @classmethod
    def id_problem(cls, id: Any) -> str | None:
        """Why `id` cannot name a document of this model (its `id` field's rules), or None."""
        try:
            cls.fields["id"].clean(id)
        except FieldError as exc:
            return str(exc)
        return None if id is not None else "is required"

    @classmethod
    def check_replicated(cls, doc: Document, current: Document | None = None) -> dict | None:
        """Why a replicated document must be refused (the same rules as a local save), or None.

        Tombstones too must name a valid id. The body must be in its saved form, exactly: every
        key one of the model's fields (a key that is not is refused, as `create` refuses it)."""
        leaving = current is not None and not current.deleted and not doc.deleted \
            and cls.is_leaving(current.data, doc.data, cls.user_id)
        if cls.enforce_access and not leaving:
            bodies = [(doc.owner, doc.data)]
            if current is not None:
                bodies.append((current.owner, None if current.deleted else current.data))
            for owner, body in bodies:
                if not cls.can(WRITE, user_id=cls.user_id, owner_id=owner, data=body):
                    return cls._denied(WRITE).to_dict()
            stored = current.data if current is not None and not current.deleted else None
            if cls.creator_changed(doc.data, stored) and not (
                    current is not None and current.knows(doc.rev)):
                return cls._denied(WRITE).to_dict()
            if cls.group_changed(doc.data, stored) and not (
                    current is not None and current.knows(doc.rev)):
                return cls.group_change_refused().to_dict()
        if current is not None and current.knows(doc.rev):
            return None  # nothing to validate: a revision this store has
        problem = cls.id_problem(doc.id)
        if problem:
            return ValidationError(cls.__name__, {"id": [problem]}).to_dict()
        if doc.deleted:
            return None
        data = doc.data or {}
        unknown = sorted(set(data) - set(cls.fields))
        if unknown:
            return ValidationError(
                cls.__name__, {name: ["is not a field of this model"] for name in unknown}
            ).to_dict()
        try:
            if data.get("id") != doc.id:
                raise ValidationError(cls.__name__, {"id": ["must match the document id"]})
            obj = cls.from_dict(data)
            obj.validate()
        except ValidationError as exc:
            return exc.to_dict()
        changed = sorted(k for k, v in obj.to_dict().items() if data.get(k) != v)
        if changed:
            return ValidationError(
                cls.__name__, {name: ["is not in its saved form"] for name in changed}
            ).to_dict()
        return None
