"""min / median / max (and percentiles) of a list of timings."""

from __future__ import annotations

import statistics


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict:
    """`{"min", "median", "max", "runs", "values"}`, rounded for reading."""
    if not values:
        raise ValueError("no values")
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
        "runs": len(values),
        "values": [round(v, 4) for v in values],
    }
