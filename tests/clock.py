"""A hand-moved clock shared by the clients of one test run, so the same run writes the same
timestamps and so the same revisions."""

from __future__ import annotations


class Clock:
    """Each call is one second after the last, from 2024-01-01T00:00:01.000Z."""

    def __init__(self) -> None:
        self.tick = 0

    def __call__(self) -> str:
        self.tick += 1
        minutes, seconds = divmod(self.tick, 60)
        hours, minutes = divmod(minutes, 60)
        return f"2024-01-01T{hours % 24:02d}:{minutes:02d}:{seconds:02d}.000Z"
