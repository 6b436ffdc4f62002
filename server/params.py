"""Query parameters and headers read strictly: what Python would accept but a client cannot
have meant (`int('٣')`, a revision that could never match) is a 400 INVALID_PARAMETER naming it.
"""

from __future__ import annotations

from starlette.requests import Request

from models.limits import MAX_INTEGER, parse_ascii_int, printable
from models.revisions import REVISION_FORM, is_revision

from .errors import InvalidParameterError


def int_param(request: Request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    """An integer query parameter: ASCII digits only (Python's int() also reads '٣' and '1_0'),
    within `minimum`..`maximum` (or 2^63-1, what the store can compare)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = parse_ascii_int(raw)
    top = MAX_INTEGER if maximum is None else maximum
    if value is None:
        digits = raw.removeprefix("-")
        if digits.isascii() and digits.isdigit():  # an integer, past what 64 bits hold
            raise InvalidParameterError(f"{name} must be between {minimum} and {top}",
                                        {name: printable(raw, 40), "minimum": minimum,
                                         "maximum": top})
        raise InvalidParameterError(
            f"{name} must be an integer written in ASCII digits, got {printable(raw, 40)}",
            {name: printable(raw, 40)})
    if value < minimum or value > top:
        raise InvalidParameterError(f"{name} must be between {minimum} and {top}, got {value}",
                                    {name: value, "minimum": minimum, "maximum": top})
    return value


def if_match(request: Request) -> str | None:
    """The revision named by `If-Match` (quoted or bare), `*` for any, or None; 400 when it is
    none of those (it could never match a revision)."""
    raw = request.headers.get("if-match")
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if "," in value:
        raise InvalidParameterError("If-Match must name one revision",
                                    {"If-Match": printable(value)})
    value = value.removeprefix("W/")
    value = value.strip('"')
    if not value:
        return None
    if value != "*" and not is_revision(value):
        raise InvalidParameterError(
            f"If-Match must be * or a revision ({REVISION_FORM}), got {printable(value)}",
            {"If-Match": printable(value)})
    return value
