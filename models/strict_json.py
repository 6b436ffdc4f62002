"""Reading JSON that arrives from outside (request bodies, the `filter` and `where` parameters)
under limits, so that no input can crash the reader or make it build millions of objects.

Before `json.loads` runs, a scan at C speed (regular expressions, `bytes.count`, `accumulate`)
measures the text's nesting depth and how many values it holds (array items and object members,
counted as commas plus brackets outside strings): a body of millions of `{}` is refused before one
of them is made, and a body nested thousands deep before the parser could overflow the stack.
The parser itself then refuses what `models.limits` says no store can hold: numbers past 64 bits
or that overflow to infinity, `NaN`/`Infinity`, and lone UTF-16 surrogates.

Each refusal is a `JSONLimitError` whose `kind` says what was wrong, so the server can answer
`MALFORMED_JSON` (not JSON, not UTF-8), `PAYLOAD_TOO_LARGE` (too many values) or `INVALID_BODY`
(too deep, or a value no store can hold).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate, count
from operator import sub
from typing import Any

from .limits import MAX_INTEGER_DIGITS, find_bad_value, number_problem, printable

SYNTAX, TOO_MANY, TOO_DEEP, BAD_VALUE = "syntax", "too_many", "too_deep", "bad_value"

_KEEP = b'"[]{},'
_STRUCTURE = bytes(b for b in range(256) if b not in _KEEP)  # what `measure` deletes
_STRING = re.compile(rb'"[^"]*"')  # a string among the kept characters (escapes are gone)
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
# What may hide text no store holds: a surrogate escape, or U+0000 (only ever escaped in JSON)
_SURROGATE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")


class JSONLimitError(ValueError):
    """JSON refused; `kind` is one of SYNTAX, TOO_MANY, TOO_DEEP, BAD_VALUE."""

    def __init__(self, message: str, kind: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.details = details or {}


def measure(raw: bytes | bytearray, max_values: int) -> tuple[int, int]:
    """(values, depth) of UTF-8 JSON text, without parsing it. `values` is an upper bound of the
    array items and object members (commas plus opening brackets outside strings). The depth is
    not measured (0) when the brackets alone exceed twice `max_values`. Malformed text gets some
    answer; the parser refuses it afterwards. Costs about one copy of `raw` (two with escapes)."""
    kept = raw
    if b"\\" in kept:  # escaped backslashes, then escaped quotes: every quote left delimits
        kept = kept.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = kept.translate(None, _STRUCTURE)  # only quotes, brackets and commas
    # When every quote is in a `""` pair (counted left to right, as a replace would remove them),
    # no string holds a bracket or a comma, and `kept` can be counted as it is. Otherwise the
    # strings go one by one.
    outside = kept if kept.count(b'""') * 2 == kept.count(b'"') else _STRING.sub(b"", kept)
    del kept
    opening = outside.count(b"[") + outside.count(b"{")
    values = outside.count(b",") + opening
    if opening > 2 * max_values:
        return values, 0
    brackets = outside.translate(_OPEN_CLOSE, b',"')  # only brackets, as 2 (open) or 0
    if not brackets:
        return values, 0
    # An opening bracket counts 2 and a closing one 0: the running sum minus the position is the
    # depth after each bracket, all computed in C.
    return values, max(map(sub, accumulate(brackets), count(1)))


def _int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INTEGER_DIGITS:
        raise JSONLimitError(
            f"the number {printable(text, 40)} is out of range: integers must be between "
            "-2^63 and 2^63-1", BAD_VALUE, {"number": text[:40]})
    value = int(text)
    problem = number_problem(value)
    if problem:
        raise JSONLimitError(f"the number {text} {problem}", BAD_VALUE, {"number": text})
    return value


def _float(text: str) -> float:
    value = float(text)
    if number_problem(value):
        raise JSONLimitError(
            f"the number {printable(text, 40)} overflows: numbers must be finite (at most about "
            "1.8e308)", BAD_VALUE, {"number": text[:40]})
    return value


def _constant(name: str) -> Any:
    raise JSONLimitError(f"{name} is not JSON", SYNTAX)


def checked_text(raw: bytes | bytearray, *, max_depth: int, max_values: int,
                 what: str = "the JSON") -> str:
    """The text of JSON bytes once their shape is within the limits: UTF-8 (or, as older RFCs
    allowed, UTF-16/32 with its BOM-less detection), strictly decoded."""
    data = raw
    encoding = json.detect_encoding(data)
    if encoding not in ("utf-8", "utf-8-sig"):
        try:
            data = data.decode(encoding).encode("utf-8")
        except UnicodeError as exc:
            raise JSONLimitError(f"{what} is not valid {encoding}: {exc}", SYNTAX) from None
    values, depth = measure(data, max_values)
    if depth > max_depth:
        raise JSONLimitError(
            f"{what} nests {depth} levels deep; the limit is {max_depth}", TOO_DEEP,
            {"max_depth": max_depth, "depth": depth})
    if values > max_values:
        raise JSONLimitError(
            f"{what} holds about {values} values (array items and object members); the limit is "
            f"{max_values}", TOO_MANY, {"max_values": max_values, "values": values})
    try:
        return data.decode("utf-8-sig")  # strict: refuses encoded surrogates such as ED A0 80
    except UnicodeDecodeError as exc:
        raise JSONLimitError(
            f"{what} is not valid UTF-8 (byte {exc.start}: {exc.reason})", SYNTAX,
            {"byte": exc.start}) from None


def parse(text: str, *, max_depth: int, what: str = "the JSON") -> Any:
    """`json.loads` refusing numbers and text no store can hold. Call it on `checked_text`'s
    answer (or on text known to be small and shallow)."""
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except JSONLimitError as exc:
        exc.message = f"{what}: {exc.message}"
        exc.args = (exc.message,)
        raise
    except RecursionError:  # unreachable after the depth check; kept so it can never escape
        raise JSONLimitError(f"{what} nests too deep", TOO_DEEP) from None
    except ValueError as exc:
        raise JSONLimitError(f"{what} is not valid JSON: {exc}", SYNTAX) from None
    # Lone surrogates only come from \uD800-\uDFFF escapes (the text itself was strict UTF-8),
    # U+0000 only from \u0000 (JSON text cannot hold it raw).
    if _SURROGATE_ESCAPE.search(text):
        found = find_bad_value(value, max_depth)
        if found is not None:
            path, problem = found
            raise JSONLimitError(f"{what}: {path} {problem}", BAD_VALUE, {"path": path})
    return value


def loads(raw: bytes | bytearray | str, *, max_depth: int, max_values: int,
          what: str = "the JSON") -> Any:
    """Check, decode and parse in one go (for inputs small enough to hold twice)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")  # a lone surrogate then fails strict decoding
    text = checked_text(raw, max_depth=max_depth, max_values=max_values, what=what)
    return parse(text, max_depth=max_depth, what=what)
