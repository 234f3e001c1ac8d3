"""Operation steps that act on guests, registered with the runner by name. Each is idempotent:
a step that starts a PVE task stores the UPID first, and a re-run polls that task instead of
starting another (common.py)."""

from apps.guests.steps import create, lifecycle, snapshots

__all__ = ["create", "lifecycle", "snapshots"]
