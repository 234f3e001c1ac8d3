"""A guest's usage over time, from PVE's RRD statistics: CPU, memory, network and disk I/O,
one sample per step of the timeframe. Read live from the guest's cluster (the caller found the
guest through the scoped `guest_get`); PVE's errors reach the caller as ProxmoxError."""

from dataclasses import dataclass
from datetime import UTC, datetime

from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.proxmox import rrd
from apps.proxmox.rrd import TIMEFRAMES

__all__ = ["TIMEFRAMES", "GuestMetrics", "guest_metrics"]


@dataclass(frozen=True)
class GuestMetrics:
    """Parallel series, one value per moment; None where PVE had no value (guest stopped)."""

    timeframe: str
    moments: list[datetime]
    cpu: list[float | None]  # share of the guest's vCPUs in use, 0..1
    vcpus: float | None
    memory: list[float | None]  # bytes
    memory_max: float | None
    net_in: list[float | None]  # bytes per second
    net_out: list[float | None]
    disk_read: list[float | None]
    disk_write: list[float | None]


def _last_known(values: list[float | None]) -> float | None:
    return next((value for value in reversed(values) if value is not None), None)


def guest_metrics(*, guest: Guest, timeframe: str) -> GuestMetrics:
    points = rrd.guest_rrddata(
        client_for(guest.cluster),
        node=guest.node,
        guest_type=guest.type,
        vmid=guest.vmid,
        timeframe=timeframe,
    )
    return GuestMetrics(
        timeframe=timeframe,
        moments=[datetime.fromtimestamp(p.time, tz=UTC) for p in points],
        cpu=[p.cpu for p in points],
        vcpus=_last_known([p.maxcpu for p in points]),
        memory=[p.mem for p in points],
        memory_max=_last_known([p.maxmem for p in points]),
        net_in=[p.netin for p in points],
        net_out=[p.netout for p in points],
        disk_read=[p.diskread for p in points],
        disk_write=[p.diskwrite for p in points],
    )
