"""Periods such as "this month" or "previous quarter", computed in the user's time zone.

A period is a half-open range of Unix seconds [start, end). Weeks start on the user's chosen
day. Used by date filters now, and by formulas and dashboards.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "this_week": "This week",
    "previous_week": "Previous week",
    "this_month": "This month",
    "previous_month": "Previous month",
    "this_quarter": "This quarter",
    "previous_quarter": "Previous quarter",
    "this_year": "This year",
    "previous_year": "Previous year",
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
}


def period_range(
    name: str, time_zone: str, *, week_start: int = 0, now: dt.datetime | None = None
) -> tuple[int, int]:
    """[start, end) of the named period containing `now`, as Unix seconds."""
    if name not in PERIODS:
        raise ValueError(f"Unknown period {name!r}; known: {', '.join(PERIODS)}")
    zone = ZoneInfo(time_zone)
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    today = local.date()
    if name.startswith("last_"):
        days = int(name.split("_")[1])
        end = local
        return _epoch(end - dt.timedelta(days=days)), _epoch(end)
    if name in ("today", "yesterday"):
        day = today - dt.timedelta(days=name == "yesterday")
        return _day(day, zone), _day(day + dt.timedelta(days=1), zone)
    unit = name.split("_", 1)[1]
    previous = name.startswith("previous_")
    if unit == "week":
        start = today - dt.timedelta(days=(today.weekday() - week_start) % 7)
        if previous:
            start -= dt.timedelta(days=7)
        return _day(start, zone), _day(start + dt.timedelta(days=7), zone)
    if unit == "month":
        start = today.replace(day=1)
        if previous:
            start = (start - dt.timedelta(days=1)).replace(day=1)
        return _day(start, zone), _day(_add_months(start, 1), zone)
    if unit == "quarter":
        start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
        if previous:
            start = _add_months(start, -3)
        return _day(start, zone), _day(_add_months(start, 3), zone)
    start = today.replace(month=1, day=1)
    if previous:
        start = start.replace(year=start.year - 1)
    return _day(start, zone), _day(start.replace(year=start.year + 1), zone)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _day(day: dt.date, zone: ZoneInfo) -> int:
    """Midnight at the start of `day` in the zone (DST-safe), as Unix seconds."""
    return _epoch(dt.datetime.combine(day, dt.time(), tzinfo=zone))


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())
