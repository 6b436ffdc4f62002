"""Failed log-ins, counted per (username, client address) in a sliding window.

After `attempts` failures within `window` seconds, every log-in for that pair is refused (429
TOO_MANY_ATTEMPTS with `Retry-After`), even with the right password, until the oldest failure
leaves the window. A successful log-in before that clears the pair's failures.

The counts live in this process's memory: a restart forgets them, and several server processes
each count on their own (a multi-process deployment needs a shared store for them, e.g. a table
in the shared database). Memory is bounded: at most `max_keys` pairs are tracked, the stalest
forgotten first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from models.errors import OffsyncError


class TooManyAttemptsError(OffsyncError):
    status = 429
    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed log-ins: try again in {retry_after} seconds",
            {"retry_after": retry_after},
        )
        self.headers = {"Retry-After": str(retry_after)}


class LoginRateLimiter:
    def __init__(self, attempts: int, window: float, *,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self.failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    @staticmethod
    def key(username: str, client: str) -> tuple[str, str]:
        return (username.strip().lower(), client)

    def _recent(self, key: tuple[str, str]) -> deque[float] | None:
        times = self.failures.get(key)
        if times is None:
            return None
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self.failures[key]
            return None
        return times

    def check(self, key: tuple[str, str]) -> None:
        """Raise TooManyAttemptsError while `key` is locked out."""
        times = self._recent(key)
        if times is not None and len(times) >= self.attempts:
            wait = times[-self.attempts] + self.window - self.clock()
            raise TooManyAttemptsError(max(1, math.ceil(wait)))

    def failed(self, key: tuple[str, str]) -> None:
        times = self._recent(key)
        if times is None:
            times = self.failures[key] = deque(maxlen=max(1, self.attempts))
        times.append(self.clock())
        self.failures.move_to_end(key)
        while len(self.failures) > self.max_keys:
            self.failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        self.failures.pop(key, None)
