"""Guest config files in PVE's format, through pvecore.guestconfig.

The simulator applies every change at once (no ``[PENDING]`` section), so only the current
section and the snapshots are kept in memory.
"""

from __future__ import annotations

from pvecore.guestconfig import GuestConfig, parse_guest_config, render_guest_config


def parse(text: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    config = parse_guest_config(text)
    return config.current, config.snapshots


def render(current: dict[str, str], snapshots: dict[str, dict[str, str]]) -> str:
    return render_guest_config(GuestConfig(current=dict(current), snapshots=dict(snapshots)))
