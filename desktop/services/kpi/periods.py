"""Periods such as "this month" or "previous quarter", computed in the user's time zone.

A period is a half-open range of Unix seconds [start, end). Weeks start on the user's chosen
day. Used by date filters now, and by formulas and dashboards.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from desktop.localization import day_and_month

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
# Also understood, and offered by dashboards: the current unit up to now, everything, any
# number of days, and a custom range of dates.
TO_DATE_PERIODS = {
    "this_week_to_date": "This week to date",
    "this_month_to_date": "This month to date",
    "this_quarter_to_date": "This quarter to date",
    "this_year_to_date": "This year to date",
}
ALL_TIME = "all_time"
DASHBOARD_PERIODS = {**PERIODS, **TO_DATE_PERIODS, ALL_TIME: "All time"}
_LAST_DAYS = re.compile(r"^last_(\d{1,4})_days$")
_CUSTOM = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
# "All time" as a range: from the epoch to a date far beyond any Stripe object.
ALL_TIME_RANGE = (0, 253_402_300_800)  # 10000-01-01


def custom_period(first: dt.date, last: dt.date) -> str:
    """The name of a custom range, both days included: '2026-01-01..2026-03-31'."""
    first, last = min(first, last), max(first, last)
    return f"{first.isoformat()}..{last.isoformat()}"


def period_label(name: str) -> str:
    if name in DASHBOARD_PERIODS:
        return DASHBOARD_PERIODS[name]
    if match := _LAST_DAYS.match(name):
        return f"Last {int(match[1])} days"
    if match := _CUSTOM.match(name):
        first, last = (dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2]))
        return day_span(min(first, last), max(first, last))
    return name


def is_custom(name: str) -> bool:
    """A custom range of days ('2026-01-01..2026-03-31')."""
    return bool(_CUSTOM.match(name))


def is_period(name: str) -> bool:
    return name in DASHBOARD_PERIODS or bool(_LAST_DAYS.match(name)) or bool(_CUSTOM.match(name))


def previous_range(
    name: str,
    time_zone: str,
    *,
    week_start: int = 0,
    now: dt.datetime | None = None,
    elapsed_only: bool = False,
) -> tuple[int, int] | None:
    """The period just before `name`'s, to compare with; None for all time.

    Calendar periods step back one unit ("this month to date" on the 25th compares with the
    previous month's first 25 days); others step back by their own length. `elapsed_only`:
    a period still running is compared by its part so far, like with like ("this month" on
    the 4th at noon with the previous month's first three and a half days), as a total must
    be; a chart, day by day, compares the whole."""
    if name == ALL_TIME:
        return None
    start, end = period_range(name, time_zone, week_start=week_start, now=now)
    moment = int((now or dt.datetime.now(dt.UTC)).timestamp())
    if elapsed_only and start <= moment < end:
        end = moment
    zone = ZoneInfo(time_zone)
    unit = name.removeprefix("this_").removeprefix("previous_").removesuffix("_to_date")
    months = {"month": 1, "quarter": 3, "year": 12}.get(unit)
    if months:
        local_start = dt.datetime.fromtimestamp(start, zone)
        local_end = dt.datetime.fromtimestamp(end, zone)
        before = _shift_months(local_start, -months)
        return _epoch(before), min(_epoch(_shift_months(local_end, -months)), start)
    if unit in ("week", "today", "yesterday"):
        days = 7 if unit == "week" else 1
        local_start = dt.datetime.fromtimestamp(start, zone)
        local_end = dt.datetime.fromtimestamp(end, zone)
        return (
            _day(local_start.date() - dt.timedelta(days=days), zone),
            min(_wall(local_end - dt.timedelta(days=days), zone), start),
        )
    return start - (end - start), start


def _shift_months(moment: dt.datetime, months: int) -> dt.datetime:
    first = _add_months(moment.date().replace(day=1), months)
    last_day = (_add_months(first, 1) - dt.timedelta(days=1)).day
    day = first.replace(day=min(moment.day, last_day))
    return dt.datetime.combine(day, moment.time(), tzinfo=moment.tzinfo)


def _wall(moment: dt.datetime, zone: ZoneInfo) -> int:
    """A local wall-clock time in the zone (after date arithmetic), as Unix seconds."""
    return _epoch(moment.replace(tzinfo=None).replace(tzinfo=zone))


def period_range(
    name: str, time_zone: str, *, week_start: int = 0, now: dt.datetime | None = None
) -> tuple[int, int]:
    """[start, end) of the named period containing `now`, as Unix seconds."""
    if not is_period(name):
        raise ValueError(
            f"Unknown period {name!r}; known: {', '.join(DASHBOARD_PERIODS)}, last_N_days "
            "or a range such as 2026-01-01..2026-03-31"
        )
    zone = ZoneInfo(time_zone)
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    today = local.date()
    if name == ALL_TIME:
        return ALL_TIME_RANGE
    if match := _CUSTOM.match(name):
        first, last = (dt.date.fromisoformat(match[1]), dt.date.fromisoformat(match[2]))
        first, last = min(first, last), max(first, last)
        return _day(first, zone), _day(last + dt.timedelta(days=1), zone)
    if match := _LAST_DAYS.match(name):
        days = int(match[1])
        end = local
        return _epoch(end - dt.timedelta(days=days)), _epoch(end)
    if name.endswith("_to_date"):
        start, _end = period_range(
            name.removesuffix("_to_date"), time_zone, week_start=week_start, now=local
        )
        return start, _epoch(local)
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


def day_text(day: dt.date | dt.datetime, *, year: bool = True) -> str:
    """'4 Dec 2026' (no leading zero, on every platform; the month in the user's language)."""
    text = day_and_month(day.day, day.month)
    return f"{text} {day.year}" if year else text


def day_span(first: dt.date, last: dt.date, *, year_once: bool = True) -> str:
    """Days from first to last, both included: '1 – 4 Dec 2026', '28 Nov – 4 Dec 2026'."""
    if first == last:
        return day_text(first)
    if first.year != last.year or not year_once:
        return f"{day_text(first)} – {day_text(last)}"
    if first.month == last.month:
        return f"{first.day} – {day_text(last)}"
    return f"{day_text(first, year=False)} – {day_text(last)}"


def date_span(start: int, end: int, time_zone: str, *, year_once: bool = True) -> str:
    """[start, end) in Unix seconds as days in the zone, the app's one way to write them:
    '1 – 4 Dec 2026', '28 Nov – 4 Dec 2026', '4 Dec 2025 – 3 Jan 2026', one day alone; the
    year written once when both days share it (year_once=False writes it on both)."""
    zone = ZoneInfo(time_zone)
    first = dt.datetime.fromtimestamp(start, zone).date()
    last = dt.datetime.fromtimestamp(max(start, end - 1), zone).date()
    return day_span(first, last, year_once=year_once)
