"""PVE's calendar events: the schedule syntax of backup jobs (`mon..fri 02:30`, `*/6:00`),
after systemd.time, as proxmox-time parses it.

    [WEEKDAY] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES[:SECONDS]]

* Weekdays: `mon` .. `sun` (or full names), lists `mon,wed,fri`, ranges `mon..fri` (a range
  may wrap: `sat..mon`). Omitted: every day.
* Every numeric field takes `*`, a value, a list `1,5`, a range `8..17`, a repetition
  `start/step` or `start..end/step`, and combinations `1,5..10,12/2`. `*/5` is `0/5`.
* Time: `HOURS:MINUTES[:SECONDS]`, or `MINUTES` alone (the hours are then `*`): `*/5` is
  every five minutes, `12:05` is five past noon. Omitted: 00:00. Seconds default to 0.
* Date: `MONTHS-DAYS` or `YEARS-MONTHS-DAYS`; omitted fields are `*`. A day that a month does
  not have never matches.
* Special names: minutely, hourly, daily, weekly, monthly, yearly/annually, quarterly,
  semiannually/semi-annually.

`next_run(event, after)` is the first matching time strictly after `after`, computed on the
wall clock of `after` (naive or aware; the result carries the same tzinfo).
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    **{name: index for index, name in enumerate(WEEKDAYS)},
    **{
        name: index
        for index, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
SPECIAL = {
    "minutely": "*-*-* *:*:00",
    "hourly": "*-*-* *:00:00",
    "daily": "*-*-* 00:00:00",
    "weekly": "mon *-*-* 00:00:00",
    "monthly": "*-*-01 00:00:00",
    "yearly": "*-01-01 00:00:00",
    "annually": "*-01-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00",
    "semiannually": "*-01,07-01 00:00:00",
    "semi-annually": "*-01,07-01 00:00:00",
}
MIN_YEAR, MAX_YEAR = 1970, 9999
_BOUNDS = {
    "year": (MIN_YEAR, MAX_YEAR),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
_NUMBER = re.compile(r"^\d+$")


class CalendarEventError(ValueError):
    pass


@dataclass(frozen=True)
class CalendarEvent:
    """A parsed event: the values each field may take."""

    text: str
    weekdays: frozenset[int]  # 0 = Monday
    years: frozenset[int]
    months: frozenset[int]
    days: frozenset[int]
    hours: tuple[int, ...]
    minutes: tuple[int, ...]
    seconds: tuple[int, ...]

    def matches(self, moment: datetime) -> bool:
        return (
            moment.weekday() in self.weekdays
            and moment.year in self.years
            and moment.month in self.months
            and moment.day in self.days
            and moment.hour in self.hours
            and moment.minute in self.minutes
            and moment.second in self.seconds
            and moment.microsecond == 0
        )

    def next_run(self, after: datetime) -> datetime | None:
        """The first matching time strictly after `after`; None if there is none."""
        start = after.replace(microsecond=0) + timedelta(seconds=1)
        day = start.date()
        earliest: time | None = start.time()
        while day.year <= MAX_YEAR:
            if day.year not in self.years:
                year = next((y for y in sorted(self.years) if y > day.year), None)
                if year is None:
                    return None
                day, earliest = date(year, 1, 1), None
                continue
            if day.month not in self.months:
                day, earliest = _first_of_next_month(day), None
                if day is None:
                    return None
                continue
            if day.day in self.days and day.weekday() in self.weekdays:
                at = self._first_time(earliest)
                if at is not None:
                    return datetime.combine(day, at, tzinfo=after.tzinfo)
            if day == date(MAX_YEAR, 12, 31):
                return None
            day, earliest = day + timedelta(days=1), None
        return None

    def _first_time(self, earliest: time | None) -> time | None:
        if earliest is None:
            return time(self.hours[0], self.minutes[0], self.seconds[0])
        for hour in self.hours:
            if hour < earliest.hour:
                continue
            for minute in self.minutes:
                if hour == earliest.hour and minute < earliest.minute:
                    continue
                for second in self.seconds:
                    candidate = time(hour, minute, second)
                    if candidate >= earliest:
                        return candidate
        return None


def _first_of_next_month(day: date) -> date | None:
    if day.month == 12:
        return date(day.year + 1, 1, 1) if day.year < MAX_YEAR else None
    return date(day.year, day.month + 1, 1)


def _values(spec: str, field: str) -> frozenset[int]:
    """A numeric field: `*`, values, ranges and repetitions, comma-separated."""
    low, high = _BOUNDS[field]
    result: set[int] = set()
    for item in spec.split(","):
        if not item:
            raise CalendarEventError(f"empty value in {field} '{spec}'")
        base, _slash, step_text = item.partition("/")
        step = 0
        if _slash:
            if not _NUMBER.match(step_text) or int(step_text) == 0:
                raise CalendarEventError(f"invalid repetition '{item}' in {field}")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif ".." in base:
            first, _dots, last = base.partition("..")
            start, end = _number(first, field), _number(last, field)
            if end < start:
                raise CalendarEventError(f"range '{base}' in {field} ends before it starts")
        else:
            start = _number(base, field)
            end = high if step else start
        result.update(range(start, end + 1, step or 1))
    return frozenset(result)


def _number(text: str, field: str) -> int:
    if not _NUMBER.match(text):
        raise CalendarEventError(f"invalid {field} '{text}'")
    value = int(text)
    low, high = _BOUNDS[field]
    if not low <= value <= high:
        raise CalendarEventError(f"{field} {value} out of range {low}..{high}")
    return value


def _weekdays(spec: str) -> frozenset[int]:
    result: set[int] = set()
    for item in spec.lower().split(","):
        first, dots, last = item.partition("..")
        if first not in _WEEKDAY_NAMES or (dots and last not in _WEEKDAY_NAMES):
            raise CalendarEventError(f"invalid weekday '{item}'")
        start = _WEEKDAY_NAMES[first]
        end = _WEEKDAY_NAMES[last] if dots else start
        # sat..mon wraps around the week's end
        span = (end - start) % 7
        result.update((start + offset) % 7 for offset in range(span + 1))
    return frozenset(result)


def _is_weekday_spec(token: str) -> bool:
    return token[:1].isalpha()


@lru_cache(maxsize=512)
def parse(text: str) -> CalendarEvent:
    """Parse a calendar event; CalendarEventError says what is wrong."""
    source = text.strip()
    expanded = SPECIAL.get(source.lower(), source)
    tokens = expanded.split()
    if not tokens:
        raise CalendarEventError("empty calendar event")
    weekdays = frozenset(range(7))
    if _is_weekday_spec(tokens[0]):
        weekdays = _weekdays(tokens.pop(0))
    date_spec = time_spec = None
    if tokens and "-" in tokens[0]:
        date_spec = tokens.pop(0)
    if tokens:
        time_spec = tokens.pop(0)
    if tokens:
        raise CalendarEventError(f"unexpected '{' '.join(tokens)}' in calendar event")

    years = _values("*", "year")
    months = days = None
    if date_spec is not None:
        parts = date_spec.split("-")
        if len(parts) == 3:
            years = _values(parts[0], "year")
            parts = parts[1:]
        if len(parts) != 2:
            raise CalendarEventError(f"invalid date '{date_spec}': [YEARS-]MONTHS-DAYS")
        months, days = _values(parts[0], "month"), _values(parts[1], "day")
    months = months if months is not None else _values("*", "month")
    days = days if days is not None else _values("*", "day")

    hours, minutes, seconds = frozenset({0}), frozenset({0}), frozenset({0})
    if time_spec is not None:
        parts = time_spec.split(":")
        if len(parts) == 1:
            hours, minutes = _values("*", "hour"), _values(parts[0], "minute")
        elif len(parts) in (2, 3):
            hours, minutes = _values(parts[0], "hour"), _values(parts[1], "minute")
            if len(parts) == 3:
                seconds = _values(parts[2], "second")
        else:
            raise CalendarEventError(f"invalid time '{time_spec}': HOURS:MINUTES[:SECONDS]")
    if not any(day <= calendar.monthrange(2000, month)[1] for month in months for day in days):
        raise CalendarEventError(f"'{text}' names no day any month has")
    return CalendarEvent(
        text=source,
        weekdays=weekdays,
        years=years,
        months=months,
        days=days,
        hours=tuple(sorted(hours)),
        minutes=tuple(sorted(minutes)),
        seconds=tuple(sorted(seconds)),
    )


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except CalendarEventError:
        return False
    return True


def next_run(event: str | CalendarEvent, after: datetime) -> datetime | None:
    """The first time after `after` (strictly) that `event` names; None if it never comes
    again (a date in the past)."""
    parsed = parse(event) if isinstance(event, str) else event
    return parsed.next_run(after)
