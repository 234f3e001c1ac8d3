"""PVE's calendar events (backup job schedules): the documented examples of the admin guide's
"Schedule Format" table, and properties of next_run checked against a minute-by-minute scan."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvecore.calendar_event import CalendarEventError, is_valid, next_run, parse

FRIDAY_NOON = datetime(2024, 5, 17, 12, 0)  # a Friday


def runs(event: str, after: datetime, count: int) -> list[datetime]:
    found, moment = [], after
    for _ in range(count):
        moment = next_run(event, moment)
        found.append(moment)
    return found


def at(*times: str) -> list[datetime]:
    return [datetime.fromisoformat(t) for t in times]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        # The admin guide's examples ("Schedule Format", "Examples" table).
        ("mon,tue,wed,thu,fri", at("2024-05-20 00:00", "2024-05-21 00:00")),
        ("mon..fri", at("2024-05-20 00:00", "2024-05-21 00:00")),
        ("sat,sun", at("2024-05-18 00:00", "2024-05-19 00:00", "2024-05-25 00:00")),
        ("sat..sun", at("2024-05-18 00:00", "2024-05-19 00:00", "2024-05-25 00:00")),
        ("mon,wed,fri", at("2024-05-20 00:00", "2024-05-22 00:00", "2024-05-24 00:00")),
        ("12:05", at("2024-05-17 12:05", "2024-05-18 12:05")),
        ("*/5", at("2024-05-17 12:05", "2024-05-17 12:10", "2024-05-17 12:15")),
        ("0/5", at("2024-05-17 12:05", "2024-05-17 12:10", "2024-05-17 12:15")),
        ("mon..wed 30/10", at("2024-05-20 00:30", "2024-05-20 00:40", "2024-05-20 00:50",
                              "2024-05-20 01:30")),
        ("mon,tue,wed 30/10", at("2024-05-20 00:30", "2024-05-20 00:40", "2024-05-20 00:50",
                                 "2024-05-20 01:30")),
        ("fri 12..13:5/20", at("2024-05-17 12:05", "2024-05-17 12:25", "2024-05-17 12:45",
                               "2024-05-17 13:05", "2024-05-17 13:25", "2024-05-17 13:45",
                               "2024-05-24 12:05")),
        ("fri 12,13:5/20", at("2024-05-17 12:05", "2024-05-17 12:25", "2024-05-17 12:45",
                              "2024-05-17 13:05", "2024-05-17 13:25", "2024-05-17 13:45",
                              "2024-05-24 12:05")),
        ("12,14,16,18,20,22:5", at("2024-05-17 12:05", "2024-05-17 14:05", "2024-05-17 16:05",
                                   "2024-05-17 18:05", "2024-05-17 20:05", "2024-05-17 22:05",
                                   "2024-05-18 12:05")),
        ("12/2:5", at("2024-05-17 12:05", "2024-05-17 14:05", "2024-05-17 16:05",
                      "2024-05-17 18:05", "2024-05-17 20:05", "2024-05-17 22:05",
                      "2024-05-18 12:05")),
        ("*", at("2024-05-17 12:01", "2024-05-17 12:02")),
        ("*/1", at("2024-05-17 12:01", "2024-05-17 12:02")),
        ("*-05", at("2024-06-05 00:00", "2024-07-05 00:00")),
        ("Sat *-1..7 15:00", at("2024-06-01 15:00", "2024-07-06 15:00", "2024-08-03 15:00")),
        ("mon..fri 8..17,22:0/15", at("2024-05-17 12:15", "2024-05-17 12:30", "2024-05-17 12:45",
                                     "2024-05-17 13:00")),
        # The and the UI's usual schedules.
        ("mon..fri 02:30", at("2024-05-20 02:30", "2024-05-21 02:30")),
        ("*/6:00", at("2024-05-17 18:00", "2024-05-18 00:00", "2024-05-18 06:00")),
        ("sat 03:00", at("2024-05-18 03:00", "2024-05-25 03:00")),
        ("mon,wed,fri 22:00", at("2024-05-17 22:00", "2024-05-20 22:00")),
        ("*:0/15", at("2024-05-17 12:15", "2024-05-17 12:30")),
        ("21:00", at("2024-05-17 21:00", "2024-05-18 21:00")),
        ("sun 01:00", at("2024-05-19 01:00", "2024-05-26 01:00")),
        # Special names.
        ("daily", at("2024-05-18 00:00", "2024-05-19 00:00")),
        ("hourly", at("2024-05-17 13:00", "2024-05-17 14:00")),
        ("minutely", at("2024-05-17 12:01", "2024-05-17 12:02")),
        ("weekly", at("2024-05-20 00:00", "2024-05-27 00:00")),
        ("monthly", at("2024-06-01 00:00", "2024-07-01 00:00")),
        ("yearly", at("2025-01-01 00:00", "2026-01-01 00:00")),
        ("annually", at("2025-01-01 00:00")),
        ("quarterly", at("2024-07-01 00:00", "2024-10-01 00:00", "2025-01-01 00:00")),
        ("semiannually", at("2024-07-01 00:00", "2025-01-01 00:00")),
        # Dates, ranges with repetition, seconds, wrapping weekday ranges, leap days.
        ("2024-12-24 18:00", at("2024-12-24 18:00")),
        ("*-02-29 06:00", at("2028-02-29 06:00", "2032-02-29 06:00")),
        ("*-*-31", at("2024-05-31 00:00", "2024-07-31 00:00", "2024-08-31 00:00")),
        ("0..12/6:00", at("2024-05-18 00:00", "2024-05-18 06:00", "2024-05-18 12:00",
                          "2024-05-19 00:00")),
        ("sat..mon 01:00", at("2024-05-18 01:00", "2024-05-19 01:00", "2024-05-20 01:00",
                              "2024-05-25 01:00")),
        ("*:*:0/20", at("2024-05-17 12:00:20", "2024-05-17 12:00:40", "2024-05-17 12:01:00")),
        ("Monday 9:00", at("2024-05-20 09:00")),
    ],
)  # fmt: skip
def test_documented_and_usual_events(event: str, expected: list[datetime]) -> None:
    assert runs(event, FRIDAY_NOON, len(expected)) == expected


def test_a_date_in_the_past_never_runs_again() -> None:
    assert next_run("2015-10-21", FRIDAY_NOON) is None
    assert next_run("2015-10-21", datetime(2015, 10, 20, 23, 59)) == datetime(2015, 10, 21)
    assert next_run("mon 2030-01-01", FRIDAY_NOON) is None  # a Tuesday


def test_an_aware_time_keeps_its_zone() -> None:
    after = datetime(2024, 5, 17, 12, 0, 30, 500, tzinfo=UTC)
    assert next_run("*/6:00", after) == datetime(2024, 5, 17, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "event",
    [
        "",
        "   ",
        "someday",
        "mon..fri 25:00",
        "*:60",
        "12:00:00:00",
        "*/0",
        "10..5:00",
        "*-13-01",
        "*-02-30",
        "2024-1-2-3",
        "mon 02:30 extra",
        "mon..xyz",
        "1969-01-01",
        "a/b",
        "1,,2",
    ],
)
def test_invalid_events_are_refused(event: str) -> None:
    assert not is_valid(event)
    with pytest.raises(CalendarEventError):
        parse(event)


# -- properties ---------------------------------------------------------------------------


def field(low: int, high: int) -> st.SearchStrategy[str]:
    """One field of an event: *, a value, a range, a repetition, or a list of those."""
    value = st.integers(low, high)
    single = st.one_of(
        st.just("*"),
        value.map(str),
        st.tuples(value, value).map(lambda p: f"{min(p)}..{max(p)}"),
        st.tuples(value, st.integers(1, high - low + 1)).map(lambda p: f"{p[0]}/{p[1]}"),
        st.integers(1, high - low + 1).map(lambda s: f"*/{s}"),
        st.tuples(value, value, st.integers(1, 12)).map(
            lambda p: f"{min(p[:2])}..{max(p[:2])}/{p[2]}"
        ),
    )
    return st.lists(single, min_size=1, max_size=3).map(",".join)


WEEKDAY = st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
weekday_part = st.one_of(
    st.just(""),
    st.lists(WEEKDAY, min_size=1, max_size=3, unique=True).map(",".join),
    st.tuples(WEEKDAY, WEEKDAY).map(lambda p: f"{p[0]}..{p[1]}"),
)
date_part = st.one_of(
    st.just(""),
    st.tuples(field(1, 12), field(1, 31)).map(lambda p: f"{p[0]}-{p[1]}"),
    st.tuples(st.sampled_from(["*", "2024", "2024..2026", "2025"]), field(1, 12), field(1, 28)).map(
        lambda p: f"{p[0]}-{p[1]}-{p[2]}"
    ),
)
time_part = st.one_of(
    st.just(""),
    field(0, 59),
    st.tuples(field(0, 23), field(0, 59)).map(lambda p: f"{p[0]}:{p[1]}"),
)


@st.composite
def events(draw) -> str:
    parts = [draw(weekday_part), draw(date_part), draw(time_part)]
    text = " ".join(part for part in parts if part)
    return text or "daily"


afters = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31))
WINDOW = timedelta(days=2)


def brute_force(event: str, after: datetime, until: datetime) -> datetime | None:
    """The first whole minute after `after` and before `until` that the event matches."""
    parsed = parse(event)
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment < until:
        if parsed.matches(moment):
            return moment
        moment += timedelta(minutes=1)
    return None


@settings(max_examples=300, deadline=None)
@given(events(), afters)
def test_next_run_is_the_first_matching_time_after(event: str, after: datetime) -> None:
    """Events without seconds match on whole minutes: the next run is after `after`, matches
    the event, and no whole minute in between matches (scanned minute by minute over up to
    two days)."""
    if not is_valid(event):  # e.g. a date no month has: refused, and is_valid says so
        with pytest.raises(CalendarEventError):
            parse(event)
        return
    found = next_run(event, after)
    expected = brute_force(event, after, min(found, after + WINDOW) if found else after + WINDOW)
    if found is None:
        assert expected is None
        return
    assert found > after
    assert parse(event).matches(found)
    assert (found.second, found.microsecond) == (0, 0)
    if found <= after + WINDOW:
        assert expected is None  # nothing earlier between after and found
    else:
        assert expected is None  # nothing matched within the scanned window either


@settings(max_examples=200, deadline=None)
@given(events(), afters)
def test_next_runs_are_increasing_and_chained(event: str, after: datetime) -> None:
    if not is_valid(event):
        return
    first = next_run(event, after)
    if first is None:
        return
    second = next_run(event, first)
    assert second is None or second > first
    # Asking from any moment between after and the first run gives the first run again.
    assert next_run(event, after + (first - after) / 2) == first


@settings(max_examples=200, deadline=None)
@given(events())
def test_parsing_ignores_case_and_surrounding_space(event: str) -> None:
    if not is_valid(event):
        return
    shouted, plain = parse(f"  {event.upper()}  "), parse(event)
    assert (shouted.weekdays, shouted.months, shouted.days, shouted.hours, shouted.minutes) == (
        plain.weekdays,
        plain.months,
        plain.days,
        plain.hours,
        plain.minutes,
    )
