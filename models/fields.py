"""Typed fields: each knows its default, how to coerce a JSON value, and what makes it invalid."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from .limits import MAX_INTEGER, MIN_INTEGER, number_problem, text_problem

MISSING: Any = object()


class FieldError(ValueError):
    """Raised by a field for one bad value; the model gathers these into a ValidationError."""


class Field:
    """A declared attribute of a model. Subclasses set `json_type` and override `coerce`."""

    json_type = "string"

    def __init__(
        self,
        *,
        default: Any = None,
        default_factory: Callable[[], Any] | None = None,
        required: bool = False,
        read_only: bool = False,
        validators: tuple[Callable[[Any], str | None], ...] = (),
        description: str = "",
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.required = required
        self.read_only = read_only
        self.validators = validators
        self.description = description
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def make_default(self) -> Any:
        return self.default_factory() if self.default_factory else self.default

    def clean(self, value: Any) -> Any:
        """Coerce `value` and run the validators; raise FieldError with a readable message."""
        if value is None:
            if self.required:
                raise FieldError("is required")
            return None
        value = self.coerce(value)
        if value is None and self.required:
            raise FieldError("is required")
        for validator in self.validators:
            message = validator(value)
            if message:
                raise FieldError(message)
        return value

    def coerce(self, value: Any) -> Any:
        return value

    def schema(self) -> dict:
        """A JSON Schema fragment for OpenAPI 3.1 (null allowed unless required)."""
        kind = self.json_type if self.required else [self.json_type, "null"]
        schema: dict[str, Any] = {"type": kind}
        if self.default is not None:
            schema["default"] = self.default
        if self.read_only:
            schema["readOnly"] = True
        if self.description:
            schema["description"] = self.description
        return schema


class String(Field):
    def __init__(
        self, *, min_length: int = 0, max_length: int | None = None, trim: bool = False, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.min_length = min_length
        self.max_length = max_length
        self.trim = trim

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise FieldError(f"must be a string, not {type(value).__name__}")
        problem = text_problem(value)
        if problem:
            raise FieldError(problem)
        if self.trim:
            value = value.strip()
        if self.required and value == "":
            raise FieldError("is required")
        if len(value) < self.min_length:
            raise FieldError(f"must be at least {self.min_length} characters")
        if self.max_length is not None and len(value) > self.max_length:
            raise FieldError(
                f"must be at most {self.max_length} characters (got {len(value)})"
            )
        return value

    def schema(self) -> dict:
        schema = super().schema()
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema


class Boolean(Field):
    json_type = "boolean"

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, bool):
            raise FieldError(f"must be true or false, not {type(value).__name__}")
        return value


class Integer(Field):
    json_type = "integer"

    def coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f"must be an integer, not {type(value).__name__}")
        problem = number_problem(value)
        if problem:
            raise FieldError(problem)
        if isinstance(value, float):
            if not value.is_integer():
                raise FieldError("must be a whole number")
            value = int(value)
            problem = number_problem(value)
            if problem:
                raise FieldError(problem)
        return value

    def schema(self) -> dict:
        return {**super().schema(), "minimum": MIN_INTEGER, "maximum": MAX_INTEGER}


class Number(Field):
    json_type = "number"

    def coerce(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldError(f"must be a number, not {type(value).__name__}")
        problem = number_problem(value)
        if problem:
            raise FieldError(problem)
        return value


class DateTime(Field):
    """A moment in UTC, stored as an ISO-8601 string so JSON round-trips are exact.

    `auto_now_add` stamps the first save, `auto_now` every save, using the model's clock.
    """

    def __init__(self, *, auto_now: bool = False, auto_now_add: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.auto_now = auto_now
        self.auto_now_add = auto_now_add

    def coerce(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            parsed = value
        elif not isinstance(value, str):
            raise FieldError(f"must be an ISO-8601 date-time string, not {type(value).__name__}")
        else:
            try:
                parsed = _dt.datetime.fromisoformat(value)
            except ValueError:
                raise FieldError(f"must be an ISO-8601 date-time, got {value[:40]!r}") from None
        try:
            return format_datetime(parsed)
        except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
            raise FieldError("is outside the years 1-9999 once converted to UTC") from None

    def schema(self) -> dict:
        return {**super().schema(), "format": "date-time"}


class Date(Field):
    """A calendar day, stored as ISO-8601 text `YYYY-MM-DD` (no time, no zone)."""

    def coerce(self, value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value.date().isoformat()
        if isinstance(value, _dt.date):
            return value.isoformat()
        if not isinstance(value, str):
            raise FieldError(f"must be a date YYYY-MM-DD, not {type(value).__name__}")
        try:
            if len(value) != 10:
                raise ValueError
            return _dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise FieldError(f"must be a date YYYY-MM-DD, got {value[:40]!r}") from None

    def schema(self) -> dict:
        return {**super().schema(), "format": "date"}


class Roles(Field):
    """A JSON object naming users and the role each holds (`{"<user id>": "editor"}`); the
    roles allowed are the field's `roles`. An empty object when unset."""

    json_type = "object"

    def __init__(self, *, roles: tuple[str, ...], max_entries: int = 1000, **kw: Any) -> None:
        kw.setdefault("default_factory", dict)
        super().__init__(**kw)
        self.roles = roles
        self.max_entries = max_entries

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise FieldError(f"must be an object of user ids and roles, not {type(value).__name__}")
        if len(value) > self.max_entries:
            raise FieldError(f"must name at most {self.max_entries} users (got {len(value)})")
        for user, role in value.items():
            if not isinstance(user, str) or not 1 <= len(user) <= 64 or text_problem(user):
                raise FieldError(f"names a user id that is not 1-64 characters: {user!r:.70}")
            if role not in self.roles:
                raise FieldError(f"gives {user!r:.70} the role {role!r:.40}: the roles are "
                                 + ", ".join(self.roles))
        return dict(sorted(value.items()))

    def schema(self) -> dict:
        return {**super().schema(),
                "additionalProperties": {"type": "string", "enum": list(self.roles)}}


def format_datetime(moment: _dt.datetime) -> str:
    """`moment` in UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ` (the year always in four digits, which
    strftime does not promise); OverflowError when UTC leaves years 1-9999."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    moment = moment.astimezone(_dt.UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def utc_now() -> str:
    """The default clock: now, in UTC, as the string a DateTime field stores."""
    return format_datetime(_dt.datetime.now(_dt.UTC))
