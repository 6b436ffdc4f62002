"""Queries as SQLite SQL: a normalized `where` over `json_extract`, with the semantics of
`models.filters.apply` (the shared cases run the same queries through every store)."""

from __future__ import annotations

from typing import Any


def json_path(name: str) -> str:
    """`json_extract` of a field. Names were checked against the model's fields by `normalize`."""
    return f"json_extract(data, '$.\"{name}\"')"


def _param(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def where_clause(where: dict | None) -> tuple[str, list]:
    if not where:
        return "1", []
    parts: list[str] = []
    params: list = []
    for key, cond in where.items():
        if key in ("and", "or"):
            subs = [where_clause(sub) for sub in cond]
            joiner = " AND " if key == "and" else " OR "
            parts.append("(" + joiner.join(f"({s})" for s, _ in subs) + ")")
            for _, p in subs:
                params.extend(p)
            continue
        column = json_path(key)
        op, arg = next(iter(cond.items())) if isinstance(cond, dict) else ("eq", cond)
        if op == "eq":
            if arg is None:
                parts.append(f"{column} IS NULL")
            else:
                parts.append(f"{column} = ?")
                params.append(_param(arg))
        elif op == "neq":
            if arg is None:
                parts.append(f"{column} IS NOT NULL")
            else:
                parts.append(f"({column} IS NOT NULL AND {column} != ?)")
                params.append(_param(arg))
        elif op in ("gt", "gte", "lt", "lte"):
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            parts.append(f"{column} {symbol} ?")
            params.append(_param(arg))
        elif op in ("inq", "nin"):
            values = [_param(v) for v in arg if v is not None]
            marks = ", ".join("?" for _ in values)
            if op == "inq":
                parts.append(f"{column} IN ({marks})")
            else:
                parts.append(f"({column} IS NOT NULL AND {column} NOT IN ({marks}))")
            params.extend(values)
        elif op == "between":
            parts.append(f"{column} BETWEEN ? AND ?")
            params.extend(_param(v) for v in arg)
        elif op in ("like", "nlike"):
            negate = "NOT " if op == "nlike" else ""
            parts.append(
                f"(json_type(data, '$.\"{key}\"') = 'text' AND {column} {negate}LIKE ?)"
            )
            params.append(arg)
    return " AND ".join(parts), params
