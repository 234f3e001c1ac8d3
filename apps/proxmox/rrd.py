"""A guest's RRD statistics on PVE (`GET /nodes/{node}/{qemu|lxc}/{vmid}/rrddata`): one sample
per step of the timeframe, averaged by rrdcached. PVE leaves out the values it has none for
(a stopped guest has no CPU, memory or I/O), so each value may be missing."""

from dataclasses import dataclass

from apps.proxmox.client import PveClient
from apps.proxmox.guests import GuestType

TIMEFRAMES = ("hour", "day", "week", "month", "year")


@dataclass(frozen=True)
class RrdPoint:
    time: int  # epoch seconds
    cpu: float | None  # share of `maxcpu` in use, 0..1
    maxcpu: float | None
    mem: float | None  # bytes in use
    maxmem: float | None
    netin: float | None  # bytes per second
    netout: float | None
    diskread: float | None
    diskwrite: float | None


def _number(item: dict, key: str) -> float | None:
    value = item.get(key)
    return float(value) if value is not None else None


def guest_rrddata(
    client: PveClient,
    *,
    node: str,
    guest_type: GuestType,
    vmid: int,
    timeframe: str,
    cf: str = "AVERAGE",
) -> list[RrdPoint]:
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe is one of {', '.join(TIMEFRAMES)}")
    items = client.get(f"nodes/{node}/{guest_type}/{vmid}/rrddata", timeframe=timeframe, cf=cf)
    return [
        RrdPoint(
            time=int(item["time"]),
            **{
                key: _number(item, key)
                for key in (
                    "cpu",
                    "maxcpu",
                    "mem",
                    "maxmem",
                    "netin",
                    "netout",
                    "diskread",
                    "diskwrite",
                )
            },
        )
        for item in sorted(items, key=lambda item: int(item["time"]))
    ]
