"""PVE's round-robin graphs (rrddata) of guests: what the portal meters network traffic from."""

from dataclasses import dataclass
from typing import Literal

from apps.proxmox.client import PveClient

Timeframe = Literal["hour", "day", "week", "month", "year"]


@dataclass(frozen=True)
class RrdPoint:
    """One consolidated sample. PVE gives rates (bytes per second) averaged over the `step`
    seconds that end at `time`; a stopped guest's samples have no rates (None)."""

    time: int
    netin: float | None
    netout: float | None


def guest_rrddata(
    client: PveClient, *, node: str, guest_type: str, vmid: int, timeframe: Timeframe = "hour"
) -> list[RrdPoint]:
    points = client.get(
        f"nodes/{node}/{guest_type}/{vmid}/rrddata", timeframe=timeframe, cf="AVERAGE"
    )
    return [
        RrdPoint(
            time=int(point["time"]),
            netin=float(point["netin"]) if point.get("netin") is not None else None,
            netout=float(point["netout"]) if point.get("netout") is not None else None,
        )
        for point in points or []
    ]
