"""What every store can hold, checked once for the model, the filters and the server's input.

A value that breaks one of these rules would crash a store later (SQLite cannot bind a lone
surrogate or an integer past 64 bits; JSON has no infinity), so it is refused where it comes in,
with a message that names the rule:

- text is valid Unicode: no lone UTF-16 surrogate (`\\ud800` escaped in JSON, or decoded from
  the bytes `ED A0 80` with `surrogatepass`);
- integers fit SQLite's INTEGER, a signed 64-bit number;
- other numbers are finite (`1e400` parses as infinity);
- a date-time converts to UTC without leaving years 1-9999.
"""

from __future__ import annotations

import math
import re
from typing import Any

MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1
MAX_INTEGER_DIGITS = 19  # len(str(MAX_INTEGER)): a longer decimal cannot be in range

_SURROGATE = re.compile("[\ud800-\udfff]")
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,19}")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text in every store, or None: a lone surrogate is not
    Unicode text, and PostgreSQL's text and jsonb cannot hold U+0000."""
    if "\x00" in value:
        return (f"contains the character U+0000 (at character {value.index(chr(0))}), which "
                "text cannot hold; remove it")
    if value.isascii():
        return None
    found = _SURROGATE.search(value)
    if found is None:
        return None
    return (f"contains a lone UTF-16 surrogate (U+{ord(found.group()):04X} at character "
            f"{found.start()}); send valid Unicode text")


def number_problem(value: int | float) -> str | None:
    """Why a JSON number cannot be stored, or None (booleans are not numbers here)."""
    if isinstance(value, int):
        if MIN_INTEGER <= value <= MAX_INTEGER:
            return None
        return "is out of range: integers must be between -2^63 and 2^63-1"
    if not math.isfinite(value):
        return "must be a finite number"
    return None


def parse_ascii_int(text: str) -> int | None:
    """`text` as an integer when it is plain ASCII decimal (an optional '-', at most 19 digits)
    within 64 bits; otherwise None. Python's int() also takes '٣', ' 1 ', '+1' and '1_0'."""
    if not _ASCII_INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if MIN_INTEGER <= value <= MAX_INTEGER else None


def find_bad_value(value: Any, max_depth: int = 64) -> tuple[str, str] | None:
    """The first (path, problem) in a JSON value whose text or numbers no store can hold.

    Iterative, so a deep value cannot exhaust the stack; deeper than `max_depth` is a problem too.
    """
    stack: list[tuple[str, Any, int]] = [("$", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if depth > max_depth:
            return path, f"nests deeper than {max_depth} levels"
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, (int, float)):
            problem = number_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, dict):
            for key, sub in item.items():
                if isinstance(key, str) and text_problem(key):
                    return f"{path} (a key)", text_problem(key) or ""
                stack.append((f"{path}.{_printable(key)}", sub, depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{path}[{i}]", sub, depth + 1) for i, sub in enumerate(item))
    return None


def _printable(key: Any) -> str:
    text = key if isinstance(key, str) else repr(key)
    return text if text.isidentifier() and len(text) <= 40 else repr(text[:40])


def printable(value: Any, limit: int = 80) -> str:
    """`value` for an error message: repr (which escapes surrogates), cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
