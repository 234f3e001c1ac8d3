"""The quantities a quota limits, as one value type."""

from dataclasses import dataclass, fields

DIMENSIONS = ("guests", "vcpus", "memory_mb", "disk_gb", "snapshots", "backup_gb")


@dataclass(frozen=True)
class Resources:
    guests: int = 0
    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0
    snapshots: int = 0
    backup_gb: int = 0

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @classmethod
    def of(cls, row: object) -> "Resources":
        """Read the six quantities from a Quota, Reservation or anything with those fields."""
        return cls(**{name: int(getattr(row, name)) for name in DIMENSIONS})
