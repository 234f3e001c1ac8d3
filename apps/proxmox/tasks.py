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


@dataclass(frozen=True)
class TaskInfo:
    upid: str
    type: str
    id: str  # the guest's VMID for most guest tasks (the source's for qmclone)
    starttime: int
    running: bool


def tasks_list(
    client: PveClient,
    *,
    node: str,
    task_type: str = "",
    vmid: int | None = None,
    since: int | None = None,
    running_only: bool = False,
    limit: int = 50,
) -> list[TaskInfo]:
    """The node's tasks, newest first: running and finished ones (only running ones with
    `running_only`), filtered by type, task id (`vmid`) and start time (epoch seconds)."""
    params: dict[str, object] = {"source": "active" if running_only else "all", "limit": limit}
    if task_type:
        params["typefilter"] = task_type
    if vmid is not None:
        params["vmid"] = vmid
    if since is not None:
        params["since"] = since
    return [
        TaskInfo(
            upid=str(item["upid"]),
            type=str(item.get("type", "")),
            id=str(item.get("id", "")),
            starttime=int(item.get("starttime") or 0),
            running="endtime" not in item,
        )
        for item in client.get(f"nodes/{node}/tasks", **params)
    ]
