"""The portal's permission error, worded like PVE's."""

from django.core.exceptions import PermissionDenied


class AccessDenied(PermissionDenied):
    """A failed privilege check: Django and DRF answer it with 403.

    `str(exc)` is PVE's message, e.g. `Permission check failed (/vms/100, VM.PowerMgmt)`.
    """

    def __init__(self, path: str, privileges: str) -> None:
        self.path = path
        self.privileges = privileges
        super().__init__(f"Permission check failed ({path}, {privileges})")
