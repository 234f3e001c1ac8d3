"""The operation steps of backups; importing the package registers them with the runner."""

from apps.backups.steps import restore, volumes, vzdump

__all__ = ["restore", "volumes", "vzdump"]
