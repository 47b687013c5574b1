"""Periods in the user's time zone, including across a daylight-saving change."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from desktop.services.kpi.periods import PERIODS, period_range

CPH = ZoneInfo("Europe/Copenhagen")


def local(*args) -> int:
    return int(dt.datetime(*args, tzinfo=CPH).timestamp())


NOW = dt.datetime(2026, 11, 25, 14, 30, tzinfo=CPH)  # a Wednesday


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("today", (2026, 11, 25), (2026, 11, 26)),
        ("yesterday", (2026, 11, 24), (2026, 11, 25)),
        ("this_week", (2026, 11, 23), (2026, 11, 30)),
        ("previous_week", (2026, 11, 16), (2026, 11, 23)),
        ("this_month", (2026, 11, 1), (2026, 12, 1)),
        ("previous_month", (2026, 10, 1), (2026, 11, 1)),
        ("this_quarter", (2026, 10, 1), (2027, 1, 1)),
        ("previous_quarter", (2026, 7, 1), (2026, 10, 1)),
        ("this_year", (2026, 1, 1), (2027, 1, 1)),
        ("previous_year", (2025, 1, 1), (2026, 1, 1)),
    ],
)
def test_calendar_periods(name, start, end):
    assert period_range(name, "Europe/Copenhagen", now=NOW) == (local(*start), local(*end))


def test_weeks_can_start_on_sunday():
    start, end = period_range("this_week", "Europe/Copenhagen", week_start=6, now=NOW)
    assert (start, end) == (local(2026, 11, 22), local(2026, 11, 29))


def test_a_month_with_a_daylight_saving_change_is_not_30_whole_days():
    start, end = period_range("previous_month", "Europe/Copenhagen", now=NOW)  # October 2026
    assert end - start == 31 * 86_400 + 3_600  # clocks went back an hour on 25 October


def test_last_n_days_end_now():
    start, end = period_range("last_7_days", "UTC", now=NOW)
    assert end == int(NOW.timestamp()) and end - start == 7 * 86_400


def test_unknown_periods_are_refused():
    with pytest.raises(ValueError, match="Unknown period"):
        period_range("next_decade", "UTC")
    assert len(PERIODS) == 13


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        # 25 Nov 14:30: the previous month's first 24 days and 14.5 hours, not all October.
        ("this_month", (2026, 10, 1), (2026, 10, 25, 14, 30)),
        ("this_month_to_date", (2026, 10, 1), (2026, 10, 25, 14, 30)),
        ("this_week", (2026, 11, 16), (2026, 11, 18, 14, 30)),
        ("today", (2026, 11, 24), (2026, 11, 24, 14, 30)),
        ("this_year", (2025, 1, 1), (2025, 11, 25, 14, 30)),
        # Periods that are over compare whole with whole.
        ("previous_month", (2026, 9, 1), (2026, 10, 1)),
        ("yesterday", (2026, 11, 23), (2026, 11, 24)),
    ],
)
def test_a_running_period_compares_like_with_like(name, start, end):
    from desktop.services.kpi.periods import previous_range

    found = previous_range(name, "Europe/Copenhagen", now=NOW, elapsed_only=True)
    assert found == (local(*start), local(*end))


def test_a_chart_compares_the_whole_previous_period():
    from desktop.services.kpi.periods import previous_range

    whole = previous_range("this_month", "Europe/Copenhagen", now=NOW)
    assert whole == (local(2026, 10, 1), local(2026, 11, 1))
