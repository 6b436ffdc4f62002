"""An adapter module as `server.stores.ADAPTER_MODULES` names one: it registers its scheme when
imported (tests/test_open_store.py). `memory://` opens a fresh `MemoryStore`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from models.stores.memory import MemoryStore
from server.stores import Password, register_scheme

opened: list[dict] = []  # what each open was asked for


def check_memory_url(url: str) -> None:
    if url != "memory://":
        raise ValueError(f"{url!r}: a memory store has no name, use memory://")


@contextlib.asynccontextmanager
async def open_memory(url: str, *, must_exist: bool, user: str | None,
                      password: Password) -> AsyncIterator[MemoryStore]:
    opened.append({"url": url, "must_exist": must_exist, "user": user})
    yield MemoryStore()


register_scheme("memory", open_memory, check=check_memory_url, database=True,
                example="memory://")
