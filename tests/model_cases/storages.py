"""Web Storage look-alikes that record, fail or die, and ways to compare storage states
exactly."""

from __future__ import annotations

from typing import Any

from models import DictStorage
from models.stores.webstorage import QuotaExceededError


def snapshot(storage) -> list[tuple[str, str]]:
    """Every key and value of a Web Storage look-alike, to compare states exactly."""
    keys = [storage.key(i) for i in range(storage.length)]
    return sorted((k, storage.getItem(k)) for k in keys)


def used_chars(storage) -> int:
    return sum(len(k) + len(v) for k, v in snapshot(storage))


class RecordingStorage:
    """Wraps a Storage and records every call, to check which keys a write touches."""

    def __init__(self, inner=None) -> None:
        self.inner = inner if inner is not None else DictStorage()
        self.log: list[tuple[str, Any]] = []

    @property
    def length(self) -> int:
        self.log.append(("length", None))
        return self.inner.length

    def key(self, index: int):
        self.log.append(("key", index))
        return self.inner.key(index)

    def getItem(self, key: str):
        self.log.append(("get", key))
        return self.inner.getItem(key)

    def setItem(self, key: str, value: str) -> None:
        self.log.append(("set", key))
        self.inner.setItem(key, value)

    def removeItem(self, key: str) -> None:
        self.log.append(("remove", key))
        self.inner.removeItem(key)

    def touched(self) -> set[str]:
        return {key for op, key in self.log if op in ("set", "remove")}

    def scanned(self) -> bool:
        return any(op in ("key", "length") for op, _ in self.log)


class FailingStorage(RecordingStorage):
    """Fails the n-th setItem (or the next removeItem) after `arm()`, like a full browser."""

    def __init__(self, inner=None) -> None:
        super().__init__(inner)
        self.fail_set_at: int | None = None
        self.fail_remove: BaseException | None = None
        self.error: BaseException = QuotaExceededError("QuotaExceededError: quota exceeded")
        self.sets = 0

    def arm(self, fail_set_at: int | None = None, error: BaseException | None = None,
            fail_remove: BaseException | None = None) -> None:
        self.sets = 0
        self.fail_set_at = fail_set_at
        self.fail_remove = fail_remove
        if error is not None:
            self.error = error

    def disarm(self) -> None:
        self.fail_set_at = None
        self.fail_remove = None

    def setItem(self, key: str, value: str) -> None:
        self.sets += 1
        if self.fail_set_at is not None and self.sets == self.fail_set_at:
            raise self.error
        super().setItem(key, value)

    def removeItem(self, key: str) -> None:
        error, self.fail_remove = self.fail_remove, None  # fail once, so the undo can run
        if error is not None:
            raise error
        super().removeItem(key)


class TabClosed(Exception):
    """The tab is gone: nothing more it does reaches the storage."""


class DyingStorage:
    """Lets `budget` setItem/removeItem calls through, then dies like a closed tab: every later
    write raises and changes nothing, so no undo can run either (None: never dies)."""

    def __init__(self, inner, budget: int | None = None) -> None:
        self.inner = inner
        self.budget = budget

    @property
    def length(self) -> int:
        return self.inner.length

    def key(self, index: int):
        return self.inner.key(index)

    def getItem(self, key: str):
        return self.inner.getItem(key)

    def _spend(self) -> None:
        if self.budget is not None:
            if self.budget <= 0:
                raise TabClosed("the tab was closed")
            self.budget -= 1

    def setItem(self, key: str, value: str) -> None:
        self._spend()
        self.inner.setItem(key, value)

    def removeItem(self, key: str) -> None:
        self._spend()
        self.inner.removeItem(key)


def app_state(storage, prefix: str) -> dict[str, str]:
    """One app's keys (without its prefix) and values, to compare two states exactly; the
    record naming the app (`@`, models/stores/namespace.py) is left out, since it names it."""
    keys = [storage.key(i) for i in range(storage.length)]
    return {k[len(prefix):]: storage.getItem(k) for k in keys
            if isinstance(k, str) and k.startswith(prefix) and k != prefix + "@"}
