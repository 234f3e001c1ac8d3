"""PVE tasks (UPIDs): status and log, typed."""

from dataclasses import dataclass

from apps.proxmox.client import PveClient
from pvecore.upid import Upid, exitstatus_is_ok


@dataclass(frozen=True)
class TaskStatus:
    upid: str
    running: bool
    exitstatus: str  # "" while running; "OK", "WARNINGS: n" or the error text once stopped

    @property
    def succeeded(self) -> bool:
        return not self.running and exitstatus_is_ok(self.exitstatus)


def task_status(client: PveClient, upid: str) -> TaskStatus:
    node = Upid.decode(upid).node
    data = client.get(f"nodes/{node}/tasks/{upid}/status")
    return TaskStatus(
        upid=upid,
        running=data.get("status") == "running",
        exitstatus=str(data.get("exitstatus", "")),
    )


def task_log(client: PveClient, upid: str, *, start: int = 0, limit: int = 500) -> list[str]:
    node = Upid.decode(upid).node
    lines = client.get(f"nodes/{node}/tasks/{upid}/log", start=start, limit=limit)
    return [str(line.get("t", "")) for line in lines]


def task_stop(client: PveClient, upid: str) -> None:
    node = Upid.decode(upid).node
    client.delete(f"nodes/{node}/tasks/{upid}")
