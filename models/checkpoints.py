"""`Checkpoints(local, peer)`: where replication between a local store and one peer reached.

The progress of a replication belongs to the store that keeps it (the local one), not to each
caller: `replicate()` and `sync()` take a `Checkpoints` and work out the direction themselves, so
no caller builds checkpoint names. Per peer, direction and model one checkpoint is kept, under the
store's saved checkpoint `<peer>:<push|pull>:<model>` (in Web Storage
`...:mark:checkpoint:<peer>:<push|pull>:<model>`, the key browsers have kept their progress under
since sync saved it page by page). Built on the public `saved_checkpoint` / `save_checkpoint`
calls that every local store has.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .errors import StorageFullError
from .stores.store import Store

Direction = Literal["push", "pull"]  # push: local -> peer (local checkpoints); pull: the reverse
DIRECTIONS: tuple[Direction, ...] = ("push", "pull")


@dataclass(frozen=True)
class Checkpoints:
    """The checkpoints `store` keeps for its replication with `peer` (a name, e.g. `server`, or
    a URL). For `push`, a checkpoint of `store` through which every change of the model reached
    the peer and was acknowledged; for `pull`, one of the peer through which every change of the
    model was applied to `store`."""

    store: Store
    peer: str

    def __post_init__(self) -> None:
        if not isinstance(self.peer, str) or not self.peer:
            raise ValueError("a peer needs a name (e.g. 'server')")

    def direction(self, source: Store, target: Store) -> Direction:
        """`pull` when this store is the target of a replication from `source`, `push` when it
        is the source; a replication between two other stores has no place here."""
        if target is self.store:
            return "pull"
        if source is self.store:
            return "push"
        raise ValueError(f"the checkpoints kept for {self.peer!r} belong to a store that is "
                         "neither the source nor the target of this replication")

    async def load(self, direction: Direction, model: str) -> int | None:
        """Where `model` reached in `direction` (None if no replication saved it yet)."""
        return await self.store.saved_checkpoint(self._name(direction, model))

    async def save(self, direction: Direction, model: str, checkpoint: int) -> None:
        """Save where `model` reached. A store too full to take it keeps the older value: the
        next run then moves again what came since (progress is a saving, never correctness)."""
        with contextlib.suppress(StorageFullError):
            await self.store.save_checkpoint(self._name(direction, model), checkpoint)

    async def reached(self, direction: Direction, models: Iterable[str],
                      default: int = 0) -> int:
        """The lowest checkpoint over `models` (`default` for one with none saved): every change
        of every one of them at or below it went through in `direction`."""
        found = [await self.load(direction, model) for model in models]
        return min((default if value is None else value for value in found), default=default)

    def _name(self, direction: Direction, model: str) -> str:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'push' or 'pull', not {direction!r}")
        return f"{self.peer}:{direction}:{model}"


__all__ = ["DIRECTIONS", "Checkpoints", "Direction"]
