"""Monthly bills in calendar months (issue 18, item 9): over many start dates and
months, a schedule lands on its day of the month, or on the last day of a month too
short for it, and comes back to its day; it never drifts (the old rule added 30 days).
Also the billers' account formats in words."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallet.merchants.account_formats import describe
from wallet.recurrence import (
    Cadence,
    Recurrence,
    UnknownTimeZone,
    add_months,
    next_on_day,
    zone,
)

DAYS = st.integers(min_value=1, max_value=31)
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2150, 12, 31))
# Zones with and without daylight saving, on both sides of UTC and of the date line.
ZONES = st.sampled_from(
    [
        "UTC",
        "Europe/Paris",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "Pacific/Auckland",
        "America/Sao_Paulo",
    ]
)
# Times of day no daylight-saving change skips in those zones (they change at night).
TIMES = st.times(min_value=time(6, 0), max_value=time(22, 0)).map(
    lambda t: t.replace(microsecond=0)
)


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


@given(start=DATES, day=DAYS, months=st.integers(min_value=0, max_value=600))
def test_a_month_later_is_the_schedules_day_or_the_shorter_months_last(
    start: date, day: int, months: int
) -> None:
    landed = add_months(start, months, day)
    assert month_index(landed) == month_index(start) + months
    assert landed.day == min(day, last_day(landed.year, landed.month))


@given(start=DATES, day=DAYS, months=st.integers(min_value=1, max_value=40))
def test_month_by_month_never_drifts_from_the_schedules_day(
    start: date, day: int, months: int
) -> None:
    """Stepping one month at a time from each run (as the worker does) lands where
    counting the months from the start does: Jan 31, Feb 28, Mar 31, not Mar 28."""
    first = add_months(start, 0, day)
    run = first
    for n in range(1, months + 1):
        run = add_months(run, 1, day)
        assert run == add_months(first, n, day)
        if day <= last_day(run.year, run.month):
            assert run.day == day  # back on its day whenever the month has it


@given(day=DAYS, today=DATES)
def test_the_next_due_date_is_the_first_such_day_from_today(day: int, today: date) -> None:
    due = next_on_day(day, today)
    assert due >= today
    assert due.day == min(day, last_day(due.year, due.month))
    # No earlier day from today on is the month's due day.
    between = (today + timedelta(days=n) for n in range((due - today).days))
    assert all(d.day != min(day, last_day(d.year, d.month)) for d in between)


@settings(max_examples=300)
@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    clock=TIMES,
    zone_name=ZONES,
    runs=st.integers(min_value=1, max_value=30),
)
def test_a_monthly_schedule_keeps_its_day_and_its_local_time_in_its_zone(
    start: date, clock: time, zone_name: str, runs: int
) -> None:
    tz = ZoneInfo(zone_name)
    first = datetime.combine(start, clock, tzinfo=tz).astimezone(UTC)
    cadence = Cadence.starting(Recurrence.MONTHLY, first, zone_name)
    assert (cadence.day_of_month, cadence.local_time) == (start.day, clock)
    run_at = first
    for n in range(1, runs + 1):
        following = cadence.after(run_at)
        assert following is not None and following > run_at
        local = following.astimezone(tz)
        assert local.date() == add_months(start, n, start.day)
        assert local.time() == clock  # 09:00 stays 09:00 across daylight saving
        run_at = following


@given(start=DATES, clock=TIMES, zone_name=ZONES)
def test_weekly_is_seven_local_days_and_once_has_no_next_run(
    start: date, clock: time, zone_name: str
) -> None:
    tz = ZoneInfo(zone_name)
    first = datetime.combine(start, clock, tzinfo=tz).astimezone(UTC)
    weekly = Cadence.starting(Recurrence.WEEKLY, first, zone_name).after(first)
    assert weekly is not None
    assert weekly.astimezone(tz) == datetime.combine(start + timedelta(days=7), clock, tzinfo=tz)
    assert Cadence.starting(Recurrence.ONCE, first, zone_name).after(first) is None


def test_the_31st_over_a_leap_year() -> None:
    cadence = Cadence.starting(
        Recurrence.MONTHLY,
        datetime(2028, 1, 31, 9, tzinfo=ZoneInfo("Europe/Paris")),
        "Europe/Paris",
    )
    run = cadence.at(date(2028, 1, 31))
    days = []
    for _ in range(13):
        days.append(run.astimezone(ZoneInfo("Europe/Paris")).strftime("%m-%d %H:%M"))
        following = cadence.after(run)
        assert following is not None
        run = following
    assert days == [
        "01-31 09:00",
        "02-29 09:00",
        "03-31 09:00",
        "04-30 09:00",
        "05-31 09:00",
        "06-30 09:00",
        "07-31 09:00",
        "08-31 09:00",
        "09-30 09:00",
        "10-31 09:00",
        "11-30 09:00",
        "12-31 09:00",
        "01-31 09:00",
    ]


def test_moving_a_monthly_schedule_changes_its_day() -> None:
    cadence = Cadence(Recurrence.MONTHLY, 15, time(9), "UTC").moved_to(date(2027, 4, 30))
    assert cadence.day_of_month == 30
    after = cadence.after(cadence.at(date(2027, 4, 30)))
    assert after == datetime(2027, 5, 30, 9, tzinfo=UTC)


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "", "Europe/"])
def test_an_unknown_time_zone_is_refused(name: str) -> None:
    with pytest.raises(UnknownTimeZone):
        zone(name)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("[0-9]{8}", "8 digits"),
        ("^[0-9]{8}$", "8 digits"),
        (r"\d{4,10}", "4 to 10 digits"),
        ("[A-Z]{2}[0-9]{6}", "2 capital letters, then 6 digits"),
        ("AC[0-9]{6}", '"AC", then 6 digits'),
        ("[0-9]{3}-[0-9]{4}", '3 digits, "-", then 4 digits'),
        ("[0-9]{4} ?[0-9]{4}", "4 digits, an optional space, then 4 digits"),
        ("[0-9]", "1 digit"),
        ("[0-9]+", None),
        ("(a|b)[0-9]", None),
    ],
)
def test_account_formats_are_said_in_words(pattern: str, words: str | None) -> None:
    assert describe(pattern) == words
