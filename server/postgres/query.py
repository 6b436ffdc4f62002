"""Queries as PostgreSQL SQL over the jsonb `data` column, with exactly the semantics of
`models.filters.apply` (the shared cases run the same queries through every store).

`filters` orders values as SQLite does: null (or missing) first, then numbers with booleans as
0/1, then strings by code point; comparing with null is unknown (never true), and `like` only
matches strings, ASCII case-insensitively. jsonb orders its types differently and compares text
by the database's collation, so every field becomes a sort key `(rank, number, text)`:

    rank   0 null or missing, 1 number or boolean, 2 string
    number the number (true = 1, false = 0), else 0
    text   the string with COLLATE "C" (UTF-8 byte order is code point order), else ''

and every comparison is a row comparison of two such keys, guarded against null. A value from
the query becomes the same key in Python (`value_key`), numbers as `Decimal`, written the way
`json_text` stores them, so a float equals itself and integers compare exactly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from psycopg import sql

WIDE_FLOAT = 1e16  # from here on `repr` writes an exponent, which jsonb turns into an integer


def number_text(value: float) -> str:
    """A float as JSON text that jsonb keeps a float: large ones are written out in full with
    '.0' (jsonb would read 1e+16 back as the integer 10000000000000000)."""
    return f"{int(value)}.0" if abs(value) >= WIDE_FLOAT else repr(value)


def _has_wide_float(value: Any) -> bool:
    if isinstance(value, float):
        return abs(value) >= WIDE_FLOAT
    if isinstance(value, dict):
        return any(_has_wide_float(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_wide_float(item) for item in value)
    return False


def _encode(value: Any) -> str:
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key), ensure_ascii=False)}:{_encode(item)}"
                              for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def json_text(value: Any) -> str:
    """`value` as the JSON text to store in a jsonb column, so every float reads back a float."""
    if _has_wide_float(value):
        return _encode(value)
    return json.dumps(value, ensure_ascii=False)


def value_key(value: bool | int | float | str) -> tuple[int, Decimal, str]:
    """The sort key of a (non-null) value from a query, as SQL parameters."""
    if isinstance(value, bool):
        return (1, Decimal(int(value)), "")
    if isinstance(value, int):
        return (1, Decimal(value), "")
    if isinstance(value, float):
        return (1, Decimal(number_text(value)), "")
    return (2, Decimal(0), value)


def _key_parts(name: str) -> list[sql.Composable]:
    """Rank, number and text of a stored field. Names were checked against the model's fields by
    `normalize`; they are still quoted as literals."""
    value = sql.SQL("(data -> {})").format(sql.Literal(name))
    return [sql.SQL(text).format(v=value) for text in (
        "CASE jsonb_typeof({v}) WHEN 'string' THEN 2 WHEN 'number' THEN 1 WHEN 'boolean' THEN 1"
        " ELSE 0 END",
        "CASE jsonb_typeof({v}) WHEN 'number' THEN {v}::numeric"
        " WHEN 'boolean' THEN {v}::boolean::int::numeric ELSE 0 END",
        "(CASE WHEN jsonb_typeof({v}) = 'string' THEN {v} #>> '{{}}' ELSE '' END) COLLATE \"C\"",
    )]


def field_key(name: str) -> sql.Composable:
    """The sort key of a stored field, as a row."""
    return sql.SQL("({})").format(sql.SQL(", ").join(_key_parts(name)))


def _is_null(name: str) -> sql.Composable:
    return sql.SQL("coalesce(jsonb_typeof(data -> {}), 'null') = 'null'").format(
        sql.Literal(name))


KEY_PARAMS = sql.SQL("(%s::int, %s::numeric, %s::text COLLATE \"C\")")
COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
UPPER, LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
ASCII_LOWER = str.maketrans(UPPER, LOWER)


def where_clause(where: dict | None) -> tuple[sql.Composable, list]:
    """A normalized `where` as a boolean SQL expression and its parameters."""
    if not where:
        return sql.SQL("TRUE"), []
    parts: list[sql.Composable] = []
    params: list = []
    for key, cond in where.items():
        if key in ("and", "or"):
            subs = [where_clause(sub) for sub in cond]
            joiner = sql.SQL(" AND " if key == "and" else " OR ")
            parts.append(sql.SQL("({})").format(
                joiner.join(sql.SQL("({})").format(s) for s, _ in subs)))
            for _, p in subs:
                params.extend(p)
            continue
        op, arg = next(iter(cond.items())) if isinstance(cond, dict) else ("eq", cond)
        part, args = _condition(key, op, arg)
        parts.append(part)
        params.extend(args)
    return sql.SQL(" AND ").join(parts), params


def _condition(name: str, op: str, arg: Any) -> tuple[sql.Composable, list]:
    key, null = field_key(name), _is_null(name)
    if op in ("eq", "neq") and arg is None:
        return (null if op == "eq" else sql.SQL("NOT {}").format(null)), []
    if op in ("eq", "neq", *COMPARE):
        if arg is None:  # a comparison with null is never true
            return sql.SQL("FALSE"), []
        symbol = {"eq": "=", "neq": "<>", **COMPARE}[op]
        return (sql.SQL("(NOT {} AND {} {} {})").format(null, key, sql.SQL(symbol), KEY_PARAMS),
                list(value_key(arg)))
    if op in ("inq", "nin"):
        values = [value_key(v) for v in arg if v is not None]
        if not values:
            return (sql.SQL("FALSE") if op == "inq" else sql.SQL("NOT {}").format(null)), []
        listed = sql.SQL(", ").join(KEY_PARAMS for _ in values)
        negate = sql.SQL("NOT " if op == "nin" else "")
        return (sql.SQL("(NOT {} AND {}{} IN ({}))").format(null, negate, key, listed),
                [item for v in values for item in v])
    if op == "between":
        low, high = arg
        if low is None or high is None:
            return sql.SQL("FALSE"), []
        return (sql.SQL("(NOT {} AND {} >= {} AND {} <= {})").format(
            null, key, KEY_PARAMS, key, KEY_PARAMS), [*value_key(low), *value_key(high)])
    if op in ("like", "nlike"):
        # ASCII case folding on both sides (filters: re.IGNORECASE | re.ASCII); no escape
        # character, so '\\' is an ordinary one as in `like_to_regex`.
        text = sql.SQL("translate(data ->> {}, %s, %s)").format(sql.Literal(name))
        negate = sql.SQL("NOT " if op == "nlike" else "")
        return (sql.SQL("(jsonb_typeof(data -> {}) = 'string' AND {} {}LIKE %s ESCAPE '')").format(
            sql.Literal(name), text, negate), [UPPER, LOWER, arg.translate(ASCII_LOWER)])
    raise ValueError(f"unknown operator {op!r}")


def order_clause(order: tuple[tuple[str, bool], ...]) -> sql.Composable:
    """ORDER BY the fields' sort keys, then by id (ties stay in id order, as in `apply`)."""
    terms = []
    for name, descending in order:
        direction = sql.SQL(" DESC" if descending else " ASC")
        terms.extend(sql.SQL("{}{}").format(part, direction) for part in _key_parts(name))
    terms.append(sql.SQL("id"))
    return sql.SQL(", ").join(terms)

