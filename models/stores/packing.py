"""Short text forms of the values every entry repeats: 32-hex ids and revisions, timestamps, ints.

Web Storage counts its quota in UTF-16 code units, and an ideograph costs one unit like a letter
(measured in Chromium: 5,241,986 units fit whether they are `a` or `一`). So 14 bits go in each
character taken from the 16,384 CJK unified ideographs from U+4E00 (no surrogates, no
decompositions, kept as they are by `json.dumps(ensure_ascii=False)`): a 128-bit id takes 10
characters instead of 32, a millisecond timestamp 3 instead of 24. Everything packs only when it
unpacks to exactly the same text; anything else is kept as it is, escaped when it could be
mistaken for a packed form.

A body value (a top-level field of a document) packs as a string with a tag: `†` + 3 characters
for an ISO timestamp with milliseconds in UTC, `§` + 3 for an int from 0 to 2^42, `‡` + 10 for
32 lowercase hex digits; a string that itself starts with `~` or a tag is kept behind a `~`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

BASE = 0x4E00  # the first CJK unified ideograph
BITS = 14
MASK = (1 << BITS) - 1
TOP = BASE + MASK
HEX32 = re.compile(r"[0-9a-f]{32}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
STAMP_TAG, INT_TAG, HEX_TAG, ESCAPE = "\u2020", "\u00a7", "\u2021", "~"
TAGS = (STAMP_TAG, INT_TAG, HEX_TAG, ESCAPE)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT_LIMIT = 1 << (3 * BITS)  # what 3 characters hold: milliseconds until the year 2109


_CHARS = [chr(BASE + code) for code in range(MASK + 1)]


def pack_int(value: int, width: int) -> str:
    C, M = _CHARS, MASK
    if width == 10:  # ids and revisions: unrolled, the hot path of every write
        return "".join((C[value >> 126 & M], C[value >> 112 & M], C[value >> 98 & M],
                        C[value >> 84 & M], C[value >> 70 & M], C[value >> 56 & M],
                        C[value >> 42 & M], C[value >> 28 & M], C[value >> 14 & M],
                        C[value & M]))
    if width == 3:  # timestamps and ints
        return C[value >> 28 & M] + C[value >> 14 & M] + C[value & M]
    out = [""] * width
    for i in range(width - 1, -1, -1):
        out[i] = _CHARS[value & MASK]
        value >>= BITS
    return "".join(out)


def unpack_int(text: str) -> int:
    value = 0
    for char in text:
        code = ord(char) - BASE
        if not 0 <= code <= MASK:
            raise ValueError("not a packed number")
        value = (value << BITS) | code
    return value


FIRST, LAST = chr(BASE), chr(TOP)


def is_packed(text: str, width: int) -> bool:
    return len(text) == width and min(text) >= FIRST and max(text) <= LAST


_hex: dict[str, str] = {}  # hex -> packed, for the ids and revisions met lately
_unhex: dict[str, str] = {}  # and back
RECENT = 65_536  # ids and revisions remembered: three per document of a 10,000-todo batch


def _remember(hex_text: str, packed: str) -> None:
    if len(_hex) >= RECENT:
        _hex.clear()
        _unhex.clear()
    _hex[hex_text] = packed
    _unhex[packed] = hex_text


def pack_hex(text: str) -> str | None:
    """32 lowercase hex digits as 10 characters; None for anything else."""
    found = _hex.get(text)
    if found is None:
        if len(text) != 32 or not HEX32.fullmatch(text):
            return None
        found = pack_int(int(text, 16), 10)
        _remember(text, found)
    return found


def unpack_hex(text: str) -> str:
    known = _unhex.get(text)
    if known is not None:
        return known
    found = f"{unpack_int(text):032x}"
    if len(found) == 32:  # (10 characters hold 140 bits: more than 32 digits is no packed id)
        _remember(found, text)  # the entry read now is the one written next (an edit, an ack)
    return found


_ids: dict[str, str] = {}  # the last ids packed: a write packs its id for several keys


def pack_id(id: str) -> str:
    """A document id in a key: packed when it is 32 hex digits, else itself (behind `=` when it
    could be read as packed)."""
    id = id if isinstance(id, str) else f"{id}"
    found = _ids.get(id)
    if found is None:
        packed = pack_hex(id)
        if packed is None:
            packed = "=" + id if id.startswith("=") or is_packed(id, 10) else id
        if len(_ids) >= RECENT:
            _ids.clear()
        found = _ids[id] = packed
    return found


def unpack_id(text: str) -> str:
    if text.startswith("="):
        return text[1:]
    return unpack_hex(text) if is_packed(text, 10) else text


def pack_rev(rev: str, synced: bool = False) -> str:
    """`<generation>-<32 hex>` as `<generation>-` (or `+` when the peer holds this very revision)
    and 10 characters; anything else as `=<rev>` (the flag then travels on its own)."""
    head, dash, tail = rev.partition("-")
    packed = pack_hex(tail) if dash and head.isascii() and head.isdigit() else None
    if packed is None:
        return "=" + rev
    return f"{head}{'+' if synced else '-'}{packed}"


def unpack_rev(text: str) -> tuple[str, bool]:
    """The revision and whether it was packed as synced (`+`)."""
    if text.startswith("="):
        return text[1:], False
    mark = text[-11:-10]
    if len(text) < 12 or (mark != "-" and mark != "+"):
        raise ValueError(f"not a packed revision: {text!r}")
    return f"{text[:-11]}-{unpack_hex(text[-10:])}", mark == "+"  # unpack_hex checks the rest


_days: dict[int, str] = {}


def _stamp_text(ms: int) -> str:
    day, rest = divmod(ms, 86_400_000)
    date = _days.get(day)
    if date is None:
        date = _days[day] = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


_day_numbers: dict[str, int | None] = {}


def _stamp_ms(text: str) -> int | None:
    """Milliseconds since 1970 of `YYYY-MM-DDTHH:MM:SS.mmmZ` (already matched by STAMP); None
    when it names no moment (a 30 February, a 25th hour) or one outside 1970 to 2109."""
    date = text[:10]
    day = _day_numbers.get(date, -1)
    if day == -1:
        try:
            day = (datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC) - EPOCH).days
        except ValueError:
            day = None
        if len(_day_numbers) >= 4096:
            _day_numbers.clear()
        _day_numbers[date] = day
    hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if day is None or hour > 23 or minute > 59 or second > 59:
        return None  # no such moment: kept as the text it is
    ms = ((day * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + int(text[20:23])
    return ms if 0 <= ms < INT_LIMIT else None


def pack_value(value):
    """A body value in its short form (module doc); values that do not pack come back as they
    are."""
    if isinstance(value, str):
        if len(value) == 24 and STAMP.fullmatch(value):
            ms = _stamp_ms(value)  # a real moment, so `_stamp_text` gives back this very text
            if ms is not None:
                return STAMP_TAG + pack_int(ms, 3)
        elif len(value) == 32 and HEX32.fullmatch(value):
            return HEX_TAG + pack_int(int(value, 16), 10)
        if value.startswith(TAGS):
            return ESCAPE + value
        return value
    if type(value) is int and 0 <= value < INT_LIMIT:
        return INT_TAG + pack_int(value, 3)
    return value


_unpacked: dict[str, object] = {}  # packed stamps and ints met lately -> their value


def unpack_value(value):
    if isinstance(value, str) and value and value[0] in TAGS:
        known = _unpacked.get(value)
        if known is not None:
            return known
        tag, body = value[0], value[1:]
        if tag == ESCAPE:
            return body
        if tag == HEX_TAG and len(body) == 10:
            return unpack_hex(body)
        if len(body) == 3:
            number = unpack_int(body)  # which refuses characters that are not packed
            found = _stamp_text(number) if tag == STAMP_TAG else number
            if len(_unpacked) >= RECENT:
                _unpacked.clear()
            _unpacked[value] = found
            return found
        raise ValueError(f"not a packed value: {value!r}")
    return value


_checkpoints: dict[int, str] = {}


def pack_checkpoint(checkpoint: int) -> str:
    """A checkpoint in a key: base 36, short and readable."""
    found = _checkpoints.get(checkpoint)
    if found is not None:
        return found
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out, number = "", checkpoint
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            break
    if len(_checkpoints) >= RECENT:
        _checkpoints.clear()
    _checkpoints[checkpoint] = out
    return out


def unpack_checkpoint(text: str) -> int | None:
    if not text or not text.isascii() or not text.isalnum() or text != text.lower():
        return None
    value = int(text, 36)
    return value if pack_checkpoint(value) == text else None
