"""Times in words for the console ("3 minutes ago", "in 2 days"). Pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = ((86_400, "day"), (3_600, "hour"), (60, "minute"))


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago `value` was, in the largest whole unit; "Never" for None."""
    if value is None:
        return "Never"
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 0:
        return until(value, now)
    if seconds < 60:
        return "just now"
    return f"{_amount(seconds)} ago"


def until(value: datetime, now: datetime | None = None) -> str:
    """How far ahead `value` is ("in 3 hours"), or how long ago it passed."""
    seconds = (value - (now or datetime.now(UTC))).total_seconds()
    if seconds <= 0:
        return ago(value, now) if seconds < 0 else "now"
    if seconds < 60:
        return "in less than a minute"
    return f"in {_amount(seconds)}"


def _amount(seconds: float) -> str:
    for size, unit in _UNITS:
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "0 minutes"
