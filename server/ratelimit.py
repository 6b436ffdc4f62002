"""Rate limits: events counted per key in a sliding window, one class for every limit.

The server keeps two (`server/auth.py`, docs/AUTH.md):

- **failed log-ins** per (lower-cased username, client address): after `attempts` failures
  within `window` seconds every log-in for that pair is refused, even with the right password,
  until the oldest failure leaves the window; a successful log-in clears the pair;
- **registrations** per client address: after `attempts` within `window`, registering from
  that address is refused until the oldest leaves the window.

A refusal is 429 TOO_MANY_ATTEMPTS with `Retry-After` (and `details.retry_after`) in seconds.
The events are rows of `rate_events` in the documents' database, so every server process
counts the same attempts and a restart forgets nothing. An attempt is checked and recorded
*before* the slow part of the request (password hashing), under a lock on its key that every
process shares (`Database.locked`: PostgreSQL's advisory locks), so requests sent all at once,
to one process or to several, pass one at a time and no more than the limit get through. Rows
older than the window are deleted as new ones arrive, so the table stays as small as the traffic
of one window. Times are wall-clock seconds (`time.time`), the one clock all processes share.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from models.errors import OffsyncError

from .database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_events (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    at {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_events_by_key ON rate_events (kind, key, at);
CREATE INDEX IF NOT EXISTS rate_events_by_age ON rate_events (kind, at)
"""


class TooManyAttemptsError(OffsyncError):
    status = 429
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many {what}: try again in {retry_after} seconds",
                         {"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


def _text(key: str | tuple[str, ...]) -> str:
    return key if isinstance(key, str) else "\x1f".join(key)


class RateLimiter:
    """At most `attempts` events per key within any `window` seconds. `kind` names the limit
    in the table; `what` names the events in the 429 message ("failed log-ins")."""

    def __init__(self, db: Database, kind: str, attempts: int, window: float, what: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        if attempts < 1 or window <= 0:
            raise ValueError(f"a rate limit needs attempts >= 1 and window > 0, got "
                             f"{attempts} per {window} s")
        self.db = db
        self.kind = kind
        self.attempts = attempts
        self.window = window
        self.what = what
        self.clock = clock

    async def create_schema(self) -> None:
        real = "REAL" if self.db.dialect == "sqlite" else "DOUBLE PRECISION"
        await self.db.script(SCHEMA.format(real=real))

    @staticmethod
    def _lock(kind: str, key: str) -> str:
        return f"rate:{kind}:{key}"

    async def _refusal(self, db: Database, key: str, now: float) -> TooManyAttemptsError | None:
        """The error while `key` has `attempts` events in the window."""
        row = await db.fetchone(
            "SELECT at FROM rate_events WHERE kind = ? AND key = ? AND at > ?"
            " ORDER BY at DESC LIMIT 1 OFFSET ?",
            (self.kind, key, now - self.window, self.attempts - 1))
        if row is None:
            return None
        return TooManyAttemptsError(self.what, max(1, math.ceil(row[0] + self.window - now)))

    async def _record(self, db: Database, key: str, now: float) -> None:
        await db.execute("DELETE FROM rate_events WHERE kind = ? AND at <= ?",
                         (self.kind, now - self.window))
        await db.execute("INSERT INTO rate_events (kind, key, at) VALUES (?, ?, ?)",
                         (self.kind, key, now))

    async def check(self, key: str | tuple[str, ...]) -> None:
        """Raise TooManyAttemptsError while `key` has used up its attempts."""
        refusal = await self._refusal(self.db, _text(key), self.clock())
        if refusal is not None:
            raise refusal

    async def record(self, key: str | tuple[str, ...]) -> None:
        """Count one event for `key` now."""
        async with self.db.locked(self._lock(self.kind, _text(key))) as db:
            await self._record(db, _text(key), self.clock())

    async def take(self, key: str | tuple[str, ...]) -> None:
        """`check`, then `record`, with no other attempt for `key` in between (in any process):
        one attempt, or TooManyAttemptsError (and the attempt is not counted)."""
        text = _text(key)
        async with self.db.locked(self._lock(self.kind, text)) as db:
            now = self.clock()
            refusal = await self._refusal(db, text, now)
            if refusal is not None:
                raise refusal
            await self._record(db, text, now)

    async def clear(self, key: str | tuple[str, ...]) -> None:
        """Forget `key`'s events (a successful log-in clears its failures)."""
        await self.db.execute("DELETE FROM rate_events WHERE kind = ? AND key = ?",
                              (self.kind, _text(key)))

    async def count(self, key: str | tuple[str, ...]) -> int:
        """How many of `key`'s events are in the window (for tests and the debug log)."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM rate_events WHERE kind = ? AND key = ? AND at > ?",
            (self.kind, _text(key), self.clock() - self.window))
        return row[0] if row else 0


def login_key(username: str, client: str) -> tuple[str, str]:
    """Failed log-ins are counted per (username as typed, case and spaces aside; address)."""
    return (username.strip().lower(), client)
