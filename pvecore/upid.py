"""UPIDs (`PVE::UPID`) and task exit statuses (FACTS.md sections 5 and 6)."""

import re
from dataclasses import dataclass
from typing import Literal

from pvecore.ids import is_tokenid, split_tokenid

_UPID_RE = re.compile(
    r"UPID:(?P<node>[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)"
    r":(?P<pid>[0-9A-Fa-f]{8}):(?P<pstart>[0-9A-Fa-f]{8,9}):(?P<starttime>[0-9A-Fa-f]{8})"
    r":(?P<type>[^:\s/]+):(?P<id>[^:\s/]*):(?P<user>[^:\s/]+):"
)
_WARNINGS_RE = re.compile(r"WARNINGS: \d+")

StatusType = Literal["ok", "warning", "error", "unknown"]


@dataclass(frozen=True)
class Upid:
    """A task id: `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`."""

    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str

    def encode(self) -> str:
        # pstart may need a ninth hex digit after ~497 days of uptime; %08X allows that.
        return (
            f"UPID:{self.node}:{self.pid:08X}:{self.pstart:08X}:{self.starttime:08X}:"
            f"{self.type}:{self.id}:{self.user}:"
        )

    @classmethod
    def decode(cls, text: str) -> "Upid":
        match = _UPID_RE.fullmatch(text)
        if match is None:
            raise ValueError("unable to parse worker upid")
        return cls(
            node=match["node"],
            pid=int(match["pid"], 16),
            pstart=int(match["pstart"], 16),
            starttime=int(match["starttime"], 16),
            type=match["type"],
            id=match["id"],
            user=match["user"],
        )

    @property
    def userid(self) -> str:
        """The owning user, as the task API reports `user` (token part stripped)."""
        return split_tokenid(self.user)[0] if is_tokenid(self.user) else self.user

    @property
    def tokenid(self) -> str | None:
        """The token name for token-started tasks (the task API's `tokenid`), else None."""
        return split_tokenid(self.user)[1] if is_tokenid(self.user) else None

    @property
    def task_log_subdir(self) -> str:
        """Directory under /var/log/pve/tasks: the last hex digit of the start time."""
        return f"{self.starttime:08X}"[-1]


def exitstatus_from_last_line(line: str) -> str:
    """`read_status`: the exit status from a task log's last line."""
    if line == "TASK OK":
        return "OK"
    if line.startswith("TASK ERROR: ") and len(line) > len("TASK ERROR: "):
        return line.removeprefix("TASK ERROR: ")
    warnings = line.removeprefix("TASK ")
    if line.startswith("TASK ") and _WARNINGS_RE.fullmatch(warnings):
        return warnings
    return "unexpected status"


def exitstatus_is_ok(exitstatus: str) -> bool:
    """Success is `OK` or `WARNINGS: <n>`; anything else is an error (`status_is_error`)."""
    return exitstatus == "OK" or _WARNINGS_RE.fullmatch(exitstatus) is not None


def normalize_status_type(exitstatus: str | None) -> StatusType:
    """The `statusfilter` class of an exit status."""
    if not exitstatus or exitstatus == "unexpected status":
        return "unknown"
    if exitstatus == "OK":
        return "ok"
    if _WARNINGS_RE.fullmatch(exitstatus):
        return "warning"
    return "error"
