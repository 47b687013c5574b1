"""How values read to a person: relative times, counts."""

from __future__ import annotations

import datetime as dt


def relative_time(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'just now', '3 minutes ago', 'yesterday', ... for a naive UTC datetime."""
    if moment is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    seconds = int((now - moment).total_seconds())
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return "1 minute ago" if minutes == 1 else f"{minutes} minutes ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return "1 hour ago" if hours == 1 else f"{hours} hours ago"
    days = round(seconds / 86400)
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


def count_text(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
