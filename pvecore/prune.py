"""PVE's backup retention: the `prune-backups` property string and the selection of what a
prune removes.

The selection follows PVE::Storage::prune_mark_backup_group: the backups of one group (one
guest on one storage) are sorted newest first; protected ones are marked `protected` up front
and are neither removed nor counted. Then each rule, in the order keep-last, keep-hourly,
keep-daily, keep-weekly (ISO weeks), keep-monthly, keep-yearly, walks the backups not yet
marked: the newest backup of each period no earlier rule covered is kept, until the rule has
kept N periods; older backups of a period it kept are marked for removal (later rules skip
them). What no rule marked is removed. With `keep-all`, or no positive option, everything is
kept.

Periods are taken from the backup time's wall clock, as PVE does with `localtime`: callers
pass times in the storage node's time zone.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal

KEEP = "keep"
REMOVE = "remove"
PROTECTED = "protected"
Mark = Literal["keep", "remove", "protected"]

# The rules, in the order PVE applies them, with the period each one keeps one backup of.
_PERIODS: tuple[tuple[str, Callable[[datetime], object]], ...] = (
    ("keep_last", lambda t: ("last", t)),
    ("keep_hourly", lambda t: (t.year, t.month, t.day, t.hour)),
    ("keep_daily", lambda t: (t.year, t.month, t.day)),
    ("keep_weekly", lambda t: tuple(t.isocalendar())[:2]),
    ("keep_monthly", lambda t: (t.year, t.month)),
    ("keep_yearly", lambda t: t.year),
)
_OPTION = re.compile(r"^keep-(all|last|hourly|daily|weekly|monthly|yearly)=(\d+)$")


class PruneOptionsError(ValueError):
    pass


@dataclass(frozen=True)
class PruneOptions:
    """PVE's `prune-backups` property: `keep-last=3,keep-daily=7`. Zero means unset."""

    keep_last: int = 0
    keep_hourly: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0
    keep_yearly: int = 0
    keep_all: bool = False

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name != "keep_all" and getattr(self, field.name) < 0:
                raise PruneOptionsError(f"{field.name.replace('_', '-')} must be >= 0")
        if self.keep_all and self.counts():
            raise PruneOptionsError("keep-all cannot be combined with other keep options")

    def counts(self) -> dict[str, int]:
        """The positive keep-N options, by field name."""
        return {name: getattr(self, name) for name, _period in _PERIODS if getattr(self, name) > 0}

    @property
    def keeps_everything(self) -> bool:
        return self.keep_all or not self.counts()

    @classmethod
    def parse(cls, text: str) -> "PruneOptions":
        """Parse `keep-last=3,keep-daily=7` (PVE's format; empty keeps everything)."""
        values: dict[str, int | bool] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            match = _OPTION.match(part)
            if match is None:
                raise PruneOptionsError(f"invalid prune-backups option '{part}'")
            name = f"keep_{match.group(1)}"
            if name in values:
                raise PruneOptionsError(f"duplicate prune-backups option '{part}'")
            values[name] = int(match.group(2))
        if "keep_all" in values:
            values["keep_all"] = bool(values["keep_all"])
        return cls(**values)  # type: ignore[arg-type]

    def render(self) -> str:
        """The property string PVE takes, e.g. `keep-last=3,keep-daily=7`."""
        if self.keep_all:
            return "keep-all=1"
        return ",".join(
            f"{name.replace('_', '-')}={count}" for name, count in self.counts().items()
        )


@dataclass(frozen=True)
class BackupEntry:
    """One backup of a group: its id (the volume id), when it was made, whether protected."""

    id: str
    ctime: datetime
    protected: bool = False


def prune_marks(entries: Iterable[BackupEntry], options: PruneOptions) -> dict[str, Mark]:
    """The mark of every backup: `keep`, `remove` or `protected`."""
    # Newest first; the id breaks ties so the result never depends on the input order.
    ordered = sorted(entries, key=lambda e: (e.ctime, e.id), reverse=True)
    marks: dict[str, Mark] = {e.id: PROTECTED for e in ordered if e.protected}
    if options.keeps_everything:
        return {e.id: marks.get(e.id, KEEP) for e in ordered}
    for name, period in _PERIODS:
        count = getattr(options, name)
        if count:
            _mark_rule(ordered, marks, count, period)
    return {e.id: marks.get(e.id, REMOVE) for e in ordered}


def _mark_rule(
    ordered: list[BackupEntry],
    marks: dict[str, Mark],
    count: int,
    period: Callable[[datetime], object],
) -> None:
    """One rule: PVE's `$prune_mark`. Periods that an earlier rule kept a backup of are
    already covered; of each new period the newest unmarked backup is kept (at most `count`
    periods), the older ones of that period are removed."""
    covered = {period(e.ctime) for e in ordered if marks.get(e.id) == KEEP}
    included: set[object] = set()
    for entry in ordered:
        key = period(entry.ctime)
        if entry.id in marks or key in covered:
            continue
        if key not in included:
            if len(included) >= count:
                break
            included.add(key)
            marks[entry.id] = KEEP
        else:
            marks[entry.id] = REMOVE


def prune_select(
    entries: Iterable[BackupEntry], options: PruneOptions
) -> tuple[list[str], list[str]]:
    """(kept ids, removed ids), each newest first; protected backups are among the kept."""
    entries = list(entries)
    marks = prune_marks(entries, options)
    ordered = [e.id for e in sorted(entries, key=lambda e: (e.ctime, e.id), reverse=True)]
    return (
        [i for i in ordered if marks[i] != REMOVE],
        [i for i in ordered if marks[i] == REMOVE],
    )
