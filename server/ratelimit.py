"""Rate limits: events counted per key in a sliding window, one class for every limit.

The server keeps two (`server/auth.py`, docs/AUTH.md):

- **failed log-ins** per (lower-cased username, client address): after `attempts` failures
  within `window` seconds every log-in for that pair is refused, even with the right password,
  until the oldest failure leaves the window; a successful log-in clears the pair;
- **registrations** per client address: after `attempts` within `window`, registering from
  that address is refused until the oldest leaves the window.

A refusal is 429 TOO_MANY_ATTEMPTS with `Retry-After` (and `details.retry_after`) in seconds.
An event is recorded *before* the slow part of the request (password hashing) and with no
`await` between the check and the record, so requests sent all at once cannot all pass the
check before any of them is counted.

The counts live in this process's memory: a restart forgets them, and several server processes
each count on their own (a multi-process deployment needs a shared store for them, e.g. a table
in the shared database). Memory is bounded: at most `max_keys` keys are tracked, the stalest
forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from models.errors import OffsyncError


class TooManyAttemptsError(OffsyncError):
    status = 429
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(f"too many {what}: try again in {retry_after} seconds",
                         {"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class RateLimiter:
    """At most `attempts` events per key within any `window` seconds. `what` names the events
    in the 429 message ("failed log-ins")."""

    def __init__(self, attempts: int, window: float, what: str, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        if attempts < 1 or window <= 0:
            raise ValueError(f"a rate limit needs attempts >= 1 and window > 0, got "
                             f"{attempts} per {window} s")
        self.attempts = attempts
        self.window = window
        self.what = what
        self.clock = clock
        self.max_keys = max_keys
        self.events: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def _recent(self, key: Hashable) -> deque[float] | None:
        times = self.events.get(key)
        if times is None:
            return None
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self.events[key]
            return None
        return times

    def check(self, key: Hashable) -> None:
        """Raise TooManyAttemptsError while `key` has used up its attempts."""
        times = self._recent(key)
        if times is not None and len(times) >= self.attempts:
            wait = times[-self.attempts] + self.window - self.clock()
            raise TooManyAttemptsError(self.what, max(1, math.ceil(wait)))

    def record(self, key: Hashable) -> None:
        """Count one event for `key` now."""
        times = self._recent(key)
        if times is None:
            times = self.events[key] = deque(maxlen=self.attempts)
        times.append(self.clock())
        self.events.move_to_end(key)
        while len(self.events) > self.max_keys:
            self.events.popitem(last=False)

    def take(self, key: Hashable) -> None:
        """`check`, then `record`: one attempt for `key`, or TooManyAttemptsError."""
        self.check(key)
        self.record(key)

    def clear(self, key: Hashable) -> None:
        """Forget `key`'s events (a successful log-in clears its failures)."""
        self.events.pop(key, None)


def login_key(username: str, client: str) -> tuple[str, str]:
    """Failed log-ins are counted per (username as typed, case and spaces aside; address)."""
    return (username.strip().lower(), client)
