"""PVE's prune-backups selection (PVE::Storage::prune_mark_backup_group): properties that hold
for any backup set, and worked examples of the documented rules ("each option only covers
backups within its time period; the next option ... will only consider older backups")."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvecore.prune import (
    KEEP,
    PROTECTED,
    REMOVE,
    BackupEntry,
    PruneOptions,
    PruneOptionsError,
    prune_marks,
    prune_select,
)

BASE = datetime(2024, 1, 1)


@st.composite
def backup_sets(draw) -> list[BackupEntry]:
    """Backups at distinct times over about two years, some protected."""
    offsets = draw(
        st.lists(st.integers(0, 2 * 365 * 24 * 60), min_size=0, max_size=40, unique=True)
    )
    return [
        BackupEntry(
            id=f"local:backup/vzdump-qemu-100-{index:03d}.vma.zst",
            ctime=BASE + timedelta(minutes=offset),
            protected=draw(st.booleans()) and draw(st.booleans()),
        )
        for index, offset in enumerate(offsets)
    ]


options_strategy = st.builds(
    PruneOptions,
    keep_last=st.integers(0, 5),
    keep_hourly=st.integers(0, 5),
    keep_daily=st.integers(0, 5),
    keep_weekly=st.integers(0, 5),
    keep_monthly=st.integers(0, 5),
    keep_yearly=st.integers(0, 3),
)


def newest_first(entries: list[BackupEntry]) -> list[BackupEntry]:
    return sorted(entries, key=lambda e: e.ctime, reverse=True)


@given(backup_sets(), options_strategy)
def test_protected_backups_are_never_removed(entries, options) -> None:
    marks = prune_marks(entries, options)
    assert set(marks) == {e.id for e in entries}
    for entry in entries:
        assert (marks[entry.id] == PROTECTED) == entry.protected


@given(backup_sets(), st.integers(1, 10))
def test_keep_last_keeps_exactly_the_newest_unprotected(entries, count) -> None:
    marks = prune_marks(entries, PruneOptions(keep_last=count))
    unprotected = [e.id for e in newest_first(entries) if not e.protected]
    assert [i for i in unprotected if marks[i] == KEEP] == unprotected[:count]
    assert [i for i in unprotected if marks[i] == REMOVE] == unprotected[count:]


@given(backup_sets(), options_strategy, st.randoms())
def test_the_result_does_not_depend_on_the_input_order(entries, options, rnd) -> None:
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert prune_marks(shuffled, options) == prune_marks(entries, options)
    assert prune_select(shuffled, options) == prune_select(entries, options)


@given(backup_sets(), options_strategy)
def test_each_rule_keeps_at_most_its_count_and_one_backup_per_period(entries, options) -> None:
    marks = prune_marks(entries, options)
    kept = [e for e in entries if marks[e.id] == KEEP]
    if options.keeps_everything:
        assert len(kept) == sum(not e.protected for e in entries)
        return
    assert len(kept) <= sum(options.counts().values())
    # Never more kept than the newest unprotected backup plus what the rules allow, and the
    # newest unprotected backup is always kept (every rule's first period starts there).
    unprotected = newest_first([e for e in entries if not e.protected])
    if unprotected:
        assert marks[unprotected[0].id] == KEEP


@given(backup_sets(), options_strategy)
def test_a_kept_backup_is_the_newest_of_its_daily_period_under_keep_daily(entries, options):
    """With only keep-daily, each kept backup is the newest unprotected one of its day and the
    kept days are the newest days that have backups."""
    options = PruneOptions(keep_daily=max(options.keep_daily, 1))
    marks = prune_marks(entries, options)
    unprotected = newest_first([e for e in entries if not e.protected])
    days: list = []
    for entry in unprotected:
        if entry.ctime.date() not in days:
            days.append(entry.ctime.date())
    kept_days = days[: options.keep_daily]
    expected = {next(e.id for e in unprotected if e.ctime.date() == day) for day in kept_days}
    assert {i for i, m in marks.items() if m == KEEP} == expected


@given(backup_sets(), options_strategy)
def test_adding_a_rule_never_removes_what_fewer_rules_kept_from_keep_last(entries, options):
    """keep-last runs first, so what it keeps stays kept whatever the other rules say."""
    alone = prune_marks(entries, PruneOptions(keep_last=options.keep_last))
    combined = prune_marks(entries, options)
    if options.keep_last:
        for backup_id, mark in alone.items():
            if mark == KEEP:
                assert combined[backup_id] == KEEP


def test_no_options_or_keep_all_keeps_everything() -> None:
    entries = [BackupEntry(id=str(i), ctime=BASE + timedelta(days=i)) for i in range(5)]
    for options in (PruneOptions(), PruneOptions(keep_all=True)):
        assert set(prune_marks(entries, options).values()) == {KEEP}


def daily_backups(days: int, *, hour: int = 2) -> list[BackupEntry]:
    """One backup a day at `hour`, ending on Sunday 2024-03-31."""
    last = datetime(2024, 3, 31, hour)
    return [
        BackupEntry(
            id=(last - timedelta(days=n)).strftime("%Y-%m-%d"), ctime=last - timedelta(days=n)
        )
        for n in range(days)
    ]


def test_the_documented_example_keep_last_3_daily_13_yearly_9() -> None:
    """`vzdump 777 --prune-backups keep-last=3,keep-daily=13,keep-yearly=9` (PVE admin guide,
    Backup Retention) over a year of daily backups plus two older years: the 3 newest, then
    13 more days, then the newest backup of each earlier year."""
    entries = daily_backups(366 + 90)  # 2023-01-01 .. 2024-03-31
    entries.append(BackupEntry(id="2022-06-30", ctime=datetime(2022, 6, 30, 2)))
    entries.append(BackupEntry(id="2022-12-30", ctime=datetime(2022, 12, 30, 2)))
    kept, removed = prune_select(
        entries, PruneOptions.parse("keep-last=3,keep-daily=13,keep-yearly=9")
    )
    expected_days = [datetime(2024, 3, 31) - timedelta(days=n) for n in range(16)]
    assert kept[:16] == [d.strftime("%Y-%m-%d") for d in expected_days]
    # keep-yearly: 2024 is covered already (kept above); the newest of 2023 and of 2022.
    assert kept[16:] == ["2023-12-31", "2022-12-30"]
    assert len(removed) == len(entries) - 18


def test_keep_daily_keeps_the_newest_backup_of_each_day() -> None:
    entries = [
        BackupEntry(id=f"{day}-{hour}", ctime=datetime(2024, 3, day, hour))
        for day in (1, 2, 3)
        for hour in (1, 13, 23)
    ]
    kept, _removed = prune_select(entries, PruneOptions(keep_daily=2))
    assert kept == ["3-23", "2-23"]


def test_a_later_rule_only_considers_backups_older_than_what_earlier_rules_covered() -> None:
    """Daily backups for five weeks with keep-daily=7,keep-weekly=4: the week of the 7 kept
    days is covered, so keep-weekly keeps the newest backup (Sunday) of each of the 4 weeks
    before it."""
    entries = daily_backups(35)  # Mon 2024-02-26 .. Sun 2024-03-31
    kept, removed = prune_select(entries, PruneOptions(keep_daily=7, keep_weekly=4))
    assert kept == [
        "2024-03-31", "2024-03-30", "2024-03-29", "2024-03-28",
        "2024-03-27", "2024-03-26", "2024-03-25",  # the week of 03-25 (ISO week 13)
        "2024-03-24", "2024-03-17", "2024-03-10", "2024-03-03",  # weeks 12, 11, 10, 9
    ]  # fmt: skip
    assert len(removed) == 35 - 11


def test_keep_weekly_uses_iso_weeks_across_the_year_end() -> None:
    """2024-12-30 (Mon) to 2025-01-05 (Sun) are one ISO week (2025-W01)."""
    entries = [
        BackupEntry(id="2024-12-29", ctime=datetime(2024, 12, 29, 2)),  # 2024-W52
        BackupEntry(id="2024-12-31", ctime=datetime(2024, 12, 31, 2)),  # 2025-W01
        BackupEntry(id="2025-01-02", ctime=datetime(2025, 1, 2, 2)),  # 2025-W01
    ]
    kept, removed = prune_select(entries, PruneOptions(keep_weekly=2))
    assert (kept, removed) == (["2025-01-02", "2024-12-29"], ["2024-12-31"])


def test_a_protected_backup_does_not_count_towards_keep_last() -> None:
    """keep-last=2 with the newest backup protected: it stays and two others are kept."""
    entries = daily_backups(4)
    entries[0] = BackupEntry(id=entries[0].id, ctime=entries[0].ctime, protected=True)
    marks = prune_marks(entries, PruneOptions(keep_last=2))
    assert marks == {
        "2024-03-31": PROTECTED,
        "2024-03-30": KEEP,
        "2024-03-29": KEEP,
        "2024-03-28": REMOVE,
    }


def test_hourly_monthly_and_yearly_periods() -> None:
    entries = [
        BackupEntry(id=t.isoformat(), ctime=t)
        for t in (
            datetime(2024, 3, 31, 23, 30),
            datetime(2024, 3, 31, 23, 0),
            datetime(2024, 3, 31, 22, 0),
            datetime(2024, 2, 15),
            datetime(2024, 2, 1),
            datetime(2023, 7, 1),
        )
    ]
    assert prune_select(entries, PruneOptions(keep_hourly=2))[0] == [
        "2024-03-31T23:30:00",
        "2024-03-31T22:00:00",
    ]
    assert prune_select(entries, PruneOptions(keep_monthly=3))[0] == [
        "2024-03-31T23:30:00",
        "2024-02-15T00:00:00",
        "2023-07-01T00:00:00",
    ]
    assert prune_select(entries, PruneOptions(keep_yearly=5))[0] == [
        "2024-03-31T23:30:00",
        "2023-07-01T00:00:00",
    ]


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("keep-last=3,keep-daily=13,keep-yearly=9", PruneOptions(3, 0, 13, 0, 0, 9)),
        ("keep-all=1", PruneOptions(keep_all=True)),
        ("", PruneOptions()),
        ("keep-weekly=4, keep-monthly=6", PruneOptions(keep_weekly=4, keep_monthly=6)),
    ],
)
def test_parse_and_render(text, options) -> None:
    parsed = PruneOptions.parse(text)
    assert parsed == options
    assert PruneOptions.parse(parsed.render()) == parsed


@pytest.mark.parametrize(
    "text", ["keep-last=x", "keep-forever=1", "keep-all=1,keep-last=2", "keep-last=1,keep-last=2"]
)
def test_parse_refuses_invalid_options(text) -> None:
    with pytest.raises(PruneOptionsError):
        PruneOptions.parse(text)


@settings(max_examples=50)
@given(st.integers(0, 30), st.integers(1, 5), st.randoms())
def test_keep_last_on_a_regular_series(count, keep, rnd) -> None:
    entries = daily_backups(count)
    rnd.shuffle(entries)
    kept, removed = prune_select(entries, PruneOptions(keep_last=keep))
    assert len(kept) == min(count, keep)
    assert len(removed) == max(count - keep, 0)
