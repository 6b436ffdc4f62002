"""LoopBack-style filters (`where`, `order`, `limit`, `skip`): checked once, then run by any store.

`normalize` turns user input into a `Query` whose field names are known model fields, so stores can
trust it (the SQLite store builds JSON paths from those names). `matches` and `sort_key` run a query
in Python for the memory and Web Storage stores; the SQLite store translates the same `Query` to
SQL, and the shared test cases check both agree.

What a query may ask is bounded (the MAX_ constants below, README "The API in one minute"), so no
filter reaches a store that cannot run it: beyond a limit the error names the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import strict_json
from .errors import FilterError
from .limits import MAX_INTEGER, number_problem, text_problem

COMPARISONS = ("eq", "neq", "gt", "gte", "lt", "lte", "inq", "nin", "between", "like", "nlike")
MAX_LIMIT = 10_000
MAX_SKIP = MAX_INTEGER  # what SQLite's OFFSET takes
# Query shapes, kept well inside what SQLite parses (it overflows its parser stack near 45 nested
# `and`/`or`, its expression tree at 1,000 terms, and takes at most 2,000 ORDER BY terms):
MAX_WHERE_DEPTH = 16  # `and`/`or` nested in one another
MAX_WHERE_CONDITIONS = 256  # field conditions in one where, at every depth
MAX_WHERE_VALUES = 10_000  # values in all `inq`/`nin`/`between` lists together
MAX_ORDER_TERMS = 32
MAX_PATTERN_LENGTH = 1_000  # characters of one `like`/`nlike` pattern
MAX_FILTER_JSON_DEPTH = 128  # the JSON of `filter`/`where`, before checking; room for the
# and/or check to name its own limit up to 60 levels
MAX_FILTER_JSON_VALUES = MAX_WHERE_VALUES + 8 * MAX_WHERE_CONDITIONS + MAX_ORDER_TERMS + 64


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
        where=_WhereCheck(known).check(where) if where is not None else None,
        order=_parse_order(order, known),
        limit=_check_int("limit", limit, minimum=0, maximum=MAX_LIMIT),
        skip=_check_int("skip", skip, minimum=0, maximum=MAX_SKIP) or 0,
        fields=known,
    )


def _load(name: str, text: str) -> Any:
    """The JSON of a query parameter, under the filter limits (so a parameter nested thousands
    deep is a 400, never a RecursionError)."""
    try:
        return strict_json.loads(text, max_depth=MAX_FILTER_JSON_DEPTH,
                                 max_values=MAX_FILTER_JSON_VALUES, what=name)
    except strict_json.JSONLimitError as exc:
        raise FilterError(exc.message, exc.details) from None


def parse_filter_json(text: str | None, known_fields: Iterable[str]) -> Query:
    """The REST `filter` query parameter: a JSON object with where/order/limit/skip."""
    if not text:
        return normalize(known_fields)
    raw = _load("filter", text)
    if not isinstance(raw, dict):
        raise FilterError("filter must be a JSON object")
    unknown = set(raw) - {"where", "order", "limit", "skip", "offset"}
    if unknown:
        names = ", ".join(repr(name)[:40] for name in sorted(unknown)[:10])
        raise FilterError(f"unknown filter keys: {names}")
    return normalize(
        known_fields,
        where=raw.get("where"),
        order=raw.get("order"),
        limit=raw.get("limit"),
        skip=raw.get("skip", raw.get("offset")),
    )


def parse_where_json(text: str | None, known_fields: Iterable[str]) -> Query:
    """The REST `where` query parameter of `count`: a JSON object of conditions."""
    if not text:
        return normalize(known_fields)
    where = _load("where", text)
    if where is None:
        return normalize(known_fields)
    if not isinstance(where, dict):
        raise FilterError("where must be a JSON object")
    return normalize(known_fields, where=where)


def _check_int(name: str, value: Any, *, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterError(f"{name} must be an integer")
    if value < minimum or value > maximum:
        raise FilterError(f"{name} must be between {minimum} and {maximum}",
                          {name: {"minimum": minimum, "maximum": maximum}})
    return value


def _parse_order(order: Any, known: frozenset[str]) -> tuple[tuple[str, bool], ...]:
    if order is None or order == "" or order == []:
        return ()
    items = [order] if isinstance(order, str) else order
    if not isinstance(items, list):
        raise FilterError('order must be a string like "title ASC" or a list of them')
    if len(items) > MAX_ORDER_TERMS:
        raise FilterError(f"order has {len(items)} terms; the limit is {MAX_ORDER_TERMS}",
                          {"max_order_terms": MAX_ORDER_TERMS})
    result = []
    for item in items:
        if not isinstance(item, str):
            raise FilterError('order must be a string like "title ASC" or a list of them')
        parts = item.split()
        if not parts or len(parts) > 2:
            raise FilterError(f"cannot read order {item[:80]!r}")
        name = parts[0]
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise FilterError(f"order direction must be ASC or DESC, got {parts[1][:40]!r}")
        _check_field(name, known)
        result.append((name, direction == "DESC"))
    return tuple(result)


def _check_field(name: Any, known: frozenset[str]) -> None:
    if name not in known:
        shown = repr(name[:60] if isinstance(name, str) else name) + (
            "…" if isinstance(name, str) and len(name) > 60 else "")
        raise FilterError(f"unknown field {shown} (known: {', '.join(sorted(known))})")


def _check_scalar(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        problem = text_problem(value)
    elif isinstance(value, (int, float)):
        problem = number_problem(value)
    else:
        raise FilterError(f"{where}: expected a string, number, boolean or null")
    if problem:
        raise FilterError(f"{where}: the value {problem}")


class _WhereCheck:
    """Checks one where (fields, operators, values) and counts it against the limits above."""

    def __init__(self, known: frozenset[str]) -> None:
        self.known = known
        self.conditions = 0
        self.values = 0

    def check(self, where: Any, depth: int = 0) -> dict | None:
        if not isinstance(where, dict):
            raise FilterError("where must be an object")
        if not where:
            return None
        for key, cond in where.items():
            if key in ("and", "or"):
                if depth >= MAX_WHERE_DEPTH:
                    raise FilterError(
                        f"where nests and/or more than {MAX_WHERE_DEPTH} deep; the limit is "
                        f"{MAX_WHERE_DEPTH}", {"max_where_depth": MAX_WHERE_DEPTH})
                if not isinstance(cond, list) or not cond:
                    raise FilterError(f"{key} must be a non-empty list of conditions")
                for sub in cond:
                    self.check(sub, depth + 1)
                continue
            self._condition(key, cond)
        return where

    def _count(self, conditions: int, values: int) -> None:
        self.conditions += conditions
        self.values += values
        if self.conditions > MAX_WHERE_CONDITIONS:
            raise FilterError(
                f"where has more than {MAX_WHERE_CONDITIONS} conditions; the limit is "
                f"{MAX_WHERE_CONDITIONS}", {"max_where_conditions": MAX_WHERE_CONDITIONS})
        if self.values > MAX_WHERE_VALUES:
            raise FilterError(
                f"where lists more than {MAX_WHERE_VALUES} values; the limit is "
                f"{MAX_WHERE_VALUES}", {"max_where_values": MAX_WHERE_VALUES})

    def _condition(self, key: str, cond: Any) -> None:
        _check_field(key, self.known)
        if not isinstance(cond, dict):
            self._count(1, 0)
            _check_scalar(cond, key)
            return
        if len(cond) != 1:
            raise FilterError(f"{key}: one operator per condition")
        (op, value), = cond.items()
        if op not in COMPARISONS:
            raise FilterError(f"{key}: unknown operator {op[:40]!r}")
        if op in ("inq", "nin"):
            if not isinstance(value, list):
                raise FilterError(f"{key}.{op} must be a list")
            self._count(1, len(value))
            for item in value:
                _check_scalar(item, f"{key}.{op}")
        elif op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise FilterError(f"{key}.between must be a list of two values")
            self._count(1, 2)
            for item in value:
                _check_scalar(item, f"{key}.between")
        elif op in ("like", "nlike"):
            if not isinstance(value, str):
                raise FilterError(f"{key}.{op} must be a string pattern")
            if len(value) > MAX_PATTERN_LENGTH:
                raise FilterError(
                    f"{key}.{op}: the pattern has {len(value)} characters; the limit is "
                    f"{MAX_PATTERN_LENGTH}", {"max_pattern_length": MAX_PATTERN_LENGTH})
            self._count(1, 0)
            _check_scalar(value, f"{key}.{op}")
        else:
            self._count(1, 0)
            _check_scalar(value, f"{key}.{op}")


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
