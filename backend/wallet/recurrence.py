"""Calendar recurrence of scheduled bill payments and bill reminders.

"Monthly" is a calendar month on a day of the month, never a count of days: a day the
month does not have (the 29th to the 31st) falls on its last day, and the next month
that has it returns to it (Jan 31, Feb 28, Mar 31). Runs keep a wall-clock time in the
payer's time zone, so 09:00 stays 09:00 across daylight-saving changes.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Recurrence(Enum):
    ONCE = "once"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class UnknownTimeZone(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown time zone: {name[:40]}")


def zone(name: str) -> ZoneInfo:
    """An IANA time zone ("Europe/Paris"), or `UnknownTimeZone`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # ValueError: not a key at all
        raise UnknownTimeZone(name) from exc


def day_in_month(year: int, month: int, day_of_month: int) -> date:
    """The `day_of_month` of that month, or its last day when it is shorter."""
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


def add_months(start: date, months: int, day_of_month: int) -> date:
    """The date `months` calendar months after `start`'s month, on `day_of_month` (with
    the end-of-month rule). The day is the schedule's own, not `start`'s, so a run that
    fell on Feb 28 for the 31st goes back to Mar 31."""
    index = start.year * 12 + start.month - 1 + months
    return day_in_month(index // 12, index % 12 + 1, day_of_month)


def next_on_day(day_of_month: int, today: date) -> date:
    """The first date on or after `today` that is the month's `day_of_month` (or its
    last day, in a month too short for it)."""
    this_month = day_in_month(today.year, today.month, day_of_month)
    return this_month if this_month >= today else add_months(today, 1, day_of_month)


@dataclass(frozen=True, slots=True)
class Cadence:
    """When a schedule runs: how often, on which day of the month (monthly), at what
    time of day, in which zone."""

    recurrence: Recurrence
    day_of_month: int
    local_time: time
    time_zone: str

    @classmethod
    def starting(cls, recurrence: Recurrence, first_run: datetime, time_zone: str) -> Cadence:
        """The cadence of a schedule whose first run is `first_run`, read in `time_zone`."""
        local = first_run.astimezone(zone(time_zone))
        return cls(recurrence, local.day, local.time().replace(tzinfo=None), time_zone)

    def at(self, day: date) -> datetime:
        """The run on that local day, as an instant (UTC)."""
        return datetime.combine(day, self.local_time, tzinfo=zone(self.time_zone)).astimezone(UTC)

    def local_day(self, run_at: datetime) -> date:
        return run_at.astimezone(zone(self.time_zone)).date()

    def after(self, run_at: datetime) -> datetime | None:
        """The run after the one at `run_at`; None for a one-off payment."""
        day = self.local_day(run_at)
        match self.recurrence:
            case Recurrence.ONCE:
                return None
            case Recurrence.WEEKLY:
                return self.at(day + timedelta(days=7))
            case Recurrence.MONTHLY:
                return self.at(add_months(day, 1, self.day_of_month))

    def moved_to(self, day: date) -> Cadence:
        """The cadence after the payer moves the next run to `day`: a monthly schedule
        then runs on that day of the month (a weekly one on that weekday)."""
        return Cadence(self.recurrence, day.day, self.local_time, self.time_zone)
