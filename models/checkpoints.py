"""`Checkpoints(local, peer)`: where replication between a local store and one peer reached.

The progress of a replication belongs to the store that keeps it (the local one), not to each
caller: `replicate()` and `sync()` take a `Checkpoints` and work out the direction themselves, so
no caller builds checkpoint names. Per peer, direction and model one checkpoint is kept, under the
store's saved checkpoint `<peer>:<push|pull>:<model>` (in Web Storage
`...:mark:checkpoint:<peer>:<push|pull>:<model>`, the key browsers have kept their progress under
since sync saved it page by page). Built on the public `saved_checkpoint` / `save_checkpoint`
calls that every local store has.

A checkpoint means something only against the database that handed it out (pull) or
acknowledged what it covers (push), so next to each one the identity of the peer's database it
was taken against is kept (`<peer>:<push|pull>:<model>:database`). When the peer's database
changed, `discard` marks both of a model's checkpoints (`...:resync`) so that the next pass of
each direction is a full one (docs/PROTOCOL.md, "A server that changed").
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
DATABASE = ":database"  # + to a checkpoint's name: the peer's identity it was taken against
RESYNC = ":resync"  # + to a checkpoint's name: 1 once discarded, until a full pass completes


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

    async def database(self, direction: Direction, model: str) -> int | None:
        """The identity of the peer's database the checkpoint was taken against (None when none
        was saved: an older version of this code, or a peer that names none)."""
        return await self.store.saved_checkpoint(self._name(direction, model) + DATABASE)

    async def discarded(self, direction: Direction, model: str) -> bool:
        """Whether the checkpoint was discarded, so the next pass must be a full one."""
        return bool(await self.store.saved_checkpoint(self._name(direction, model) + RESYNC))

    async def save(self, direction: Direction, model: str, checkpoint: int,
                   database: int | None = None, *, resynced: bool = False) -> None:
        """Save where `model` reached; with `database`, against which database of the peer;
        `resynced`: at the end of a full pass, which settles a `discard`. A store too full to
        take it keeps the older value: the next run then moves again what came since (progress
        is a saving, never correctness). The checkpoint is saved first: one whose identity
        could not be saved after it is taken for another database's next time, so it is
        resynced, never trusted."""
        name = self._name(direction, model)
        with contextlib.suppress(StorageFullError):
            await self.store.save_checkpoint(name, checkpoint)
            if database is not None and await self.database(direction, model) != database:
                await self.store.save_checkpoint(name + DATABASE, database)
            if resynced and await self.discarded(direction, model):
                await self.store.save_checkpoint(name + RESYNC, 0)

    async def discard(self, model: str) -> None:
        """Forget both of `model`'s checkpoints (the peer's database changed): the next pass in
        each direction starts from 0 and is a full one (a pull reconciles everything, a push
        sends everything), until one completes. Marked first, then set to 0, so that no `since`
        a caller passes for a model with nothing saved is taken instead."""
        for direction in DIRECTIONS:
            name = self._name(direction, model)
            with contextlib.suppress(StorageFullError):
                await self.store.save_checkpoint(name + RESYNC, 1)
                await self.store.save_checkpoint(name, 0)

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
