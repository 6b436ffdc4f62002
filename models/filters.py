"""LoopBack-style filters (`where`, `order`, `limit`, `skip`): checked once, then run by any store.

`normalize` turns user input into a `Query` whose field names are known model fields, so stores can
trust it (the SQLite store builds JSON paths from those names). `matches` and `sort_key` run a query
in Python for the memory and Web Storage stores; the SQLite store translates the same `Query` to
SQL,
and the shared test cases check both agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import FilterError

COMPARISONS = ("eq", "neq", "gt", "gte", "lt", "lte", "inq", "nin", "between", "like", "nlike")
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Query:
    where: dict | None = None
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int | None = None
    skip: int = 0
    fields: frozenset[str] = field(default_factory=frozenset)


def normalize(
    known_fields: Iterable[str],
    *,
    where: Any = None,
    order: Any = None,
    limit: Any = None,
    skip: Any = None,
) -> Query:
    known = frozenset(known_fields)
    return Query(
        where=_check_where(where, known) if where is not None else None,
        order=_parse_order(order, known),
        limit=_check_int("limit", limit, minimum=0, maximum=MAX_LIMIT),
        skip=_check_int("skip", skip, minimum=0) or 0,
        fields=known,
    )


def parse_filter_json(text: str | None, known_fields: Iterable[str]) -> Query:
    """The REST `filter` query parameter: a JSON object with where/order/limit/skip."""
    if not text:
        return normalize(known_fields)
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise FilterError(f"filter is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise FilterError("filter must be a JSON object")
    unknown = set(raw) - {"where", "order", "limit", "skip", "offset"}
    if unknown:
        raise FilterError(f"unknown filter keys: {', '.join(sorted(unknown))}")
    return normalize(
        known_fields,
        where=raw.get("where"),
        order=raw.get("order"),
        limit=raw.get("limit"),
        skip=raw.get("skip", raw.get("offset")),
    )


def _check_int(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterError(f"{name} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f" and {maximum}" if maximum is not None else ""
        raise FilterError(f"{name} must be between {minimum}{bound}")
    return value


def _parse_order(order: Any, known: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    if order is None or order == "" or order == []:
        return ()
    items = [order] if isinstance(order, str) else order
    if not isinstance(items, list):
        raise FilterError('order must be a string like "title ASC" or a list of them')
    result = []
    for item in items:
        if not isinstance(item, str):
            raise FilterError('order must be a string like "title ASC" or a list of them')
        parts = item.split()
        if not parts or len(parts) > 2:
            raise FilterError(f"cannot read order {item!r}")
        name = parts[0]
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise FilterError(f"order direction must be ASC or DESC, got {parts[1]!r}")
        _check_field(name, known)
        result.append((name, direction == "DESC"))
    return tuple(result)


def _check_field(name: Any, known: frozenset[str]) -> None:
    if name not in known:
        raise FilterError(f"unknown field {name!r} (known: {', '.join(sorted(known))})")


def _check_scalar(value: Any, where: str) -> None:
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise FilterError(f"{where}: expected a string, number, boolean or null")


def _check_where(where: Any, known: frozenset[str]) -> dict | None:
    if not isinstance(where, dict):
        raise FilterError("where must be an object")
    if not where:
        return None
    for key, cond in where.items():
        if key in ("and", "or"):
            if not isinstance(cond, list) or not cond:
                raise FilterError(f"{key} must be a non-empty list of conditions")
            for sub in cond:
                _check_where(sub, known)
            continue
        _check_field(key, known)
        if isinstance(cond, dict):
            if len(cond) != 1:
                raise FilterError(f"{key}: one operator per condition")
            (op, value), = cond.items()
            if op not in COMPARISONS:
                raise FilterError(f"{key}: unknown operator {op!r}")
            if op in ("inq", "nin"):
                if not isinstance(value, list):
                    raise FilterError(f"{key}.{op} must be a list")
                for item in value:
                    _check_scalar(item, f"{key}.{op}")
            elif op == "between":
                if not isinstance(value, list) or len(value) != 2:
                    raise FilterError(f"{key}.between must be a list of two values")
                for item in value:
                    _check_scalar(item, f"{key}.between")
            elif op in ("like", "nlike"):
                if not isinstance(value, str):
                    raise FilterError(f"{key}.{op} must be a string pattern")
            else:
                _check_scalar(value, f"{key}.{op}")
        else:
            _check_scalar(cond, key)
    return where


# ---- evaluation in Python (memory and Web Storage stores) -------------------------------------

def _rank(value: Any) -> tuple[int, Any]:
    """Order values as SQLite does: NULL, then numbers (booleans are 0/1), then text."""
    if value is None:
        return (0, 0)
    if isinstance(value, (bool, int, float)):
        return (1, int(value) if isinstance(value, bool) else value)
    return (2, str(value))


def _compare(left: Any, right: Any) -> int | None:
    if left is None or right is None:
        return None  # SQL: comparisons with NULL are unknown
    a, b = _rank(left), _rank(right)
    return (a > b) - (a < b)


def _equal(left: Any, right: Any) -> bool:
    return left is not None and right is not None and _rank(left) == _rank(right)


def like_to_regex(pattern: str) -> re.Pattern:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.ASCII | re.DOTALL)


def matches(where: dict | None, data: dict) -> bool:
    if not where:
        return True
    for key, cond in where.items():
        if key == "and":
            if not all(matches(sub, data) for sub in cond):
                return False
            continue
        if key == "or":
            if not any(matches(sub, data) for sub in cond):
                return False
            continue
        value = data.get(key)
        if not isinstance(cond, dict):
            if cond is None:
                if value is not None:
                    return False
            elif not _equal(value, cond):
                return False
            continue
        (op, arg), = cond.items()
        if not _test(op, value, arg):
            return False
    return True


def _test(op: str, value: Any, arg: Any) -> bool:
    if op == "eq":
        return value is None if arg is None else _equal(value, arg)
    if op == "neq":
        return value is not None if arg is None else (value is not None and not _equal(value, arg))
    if op in ("gt", "gte", "lt", "lte"):
        c = _compare(value, arg)
        if c is None:
            return False
        return {"gt": c > 0, "gte": c >= 0, "lt": c < 0, "lte": c <= 0}[op]
    if op == "inq":
        return any(_equal(value, a) for a in arg)
    if op == "nin":
        return value is not None and not any(_equal(value, a) for a in arg)
    if op == "between":
        lo, hi = _compare(value, arg[0]), _compare(value, arg[1])
        return lo is not None and hi is not None and lo >= 0 and hi <= 0
    if op in ("like", "nlike"):
        if not isinstance(value, str):
            return False
        found = like_to_regex(arg).fullmatch(value) is not None
        return found if op == "like" else not found
    raise FilterError(f"unknown operator {op!r}")


def apply(query: Query, rows: Iterable[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Filter, sort and page `(id, data)` pairs. Ties break on id so pages are stable."""
    selected = [row for row in rows if matches(query.where, row[1])]
    selected.sort(key=lambda row: row[0])
    for name, descending in reversed(query.order):
        selected.sort(key=lambda row: _rank(row[1].get(name)), reverse=descending)
    end = None if query.limit is None else query.skip + query.limit
    return selected[query.skip:end]
