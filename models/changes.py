"""What every store records on every write: a `Change`, the unit that replication moves."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class ChangeType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Change:
    """A document's newest revision in one store.

    `checkpoint` is the store's sequence number for this write: it only grows, so "changes since
    checkpoint C" is exact whatever the clocks say. `prev` is the revision the write was based on.
    """

    model: str
    id: str
    rev: str
    prev: str | None
    checkpoint: int
    type: ChangeType
    history: tuple[str, ...] = ()  # ancestors, newest first (lets `diff` see several edits ahead)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["type"] = self.type.value
        out["history"] = list(self.history)
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> Change:
        return cls(
            model=raw["model"],
            id=raw["id"],
            rev=raw["rev"],
            prev=raw.get("prev"),
            checkpoint=int(raw["checkpoint"]),
            type=ChangeType(raw["type"]),
            history=tuple(str(rev) for rev in raw.get("history") or ()),
        )

