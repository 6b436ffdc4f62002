"""What a store did with one incoming revision: the answer to each document of a push."""

from __future__ import annotations

from dataclasses import dataclass

from .document import Document


@dataclass(frozen=True)
class Outcome:
    """What the target did with one incoming revision (see `models.reconcile`)."""

    id: str
    rev: str
    status: str  # applied | unchanged | merged | conflict | rejected
    current: Document | None = None  # the target's document after (or, for a conflict, as is)
    error: dict | None = None
