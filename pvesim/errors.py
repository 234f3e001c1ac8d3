"""Errors raised by handlers, mapped onto PVE's HTTP status codes and messages (FACTS §1)."""

from __future__ import annotations


class PveError(Exception):
    """An API failure: HTTP status, the message PVE would die with and optional param errors."""

    def __init__(self, status: int, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def param_error(errors: dict[str, str]) -> PveError:
    """PVE's ``raise_param_exc``: 400 with per-parameter messages."""
    return PveError(400, "Parameter verification failed.", errors)


def die(message: str) -> PveError:
    """A plain ``die`` in a PVE handler becomes HTTP 500 with the die text."""
    return PveError(500, message)


def permission_denied(message: str = "Permission check failed") -> PveError:
    return PveError(403, message)


def config_missing(node: str, kind: str, vmid: int) -> PveError:
    directory = "qemu-server" if kind == "qemu" else "lxc"
    return die(f"Configuration file 'nodes/{node}/{directory}/{vmid}.conf' does not exist")


def guest_locked(kind: str, lock: str) -> PveError:
    return die(f"{'VM' if kind == 'qemu' else 'CT'} is locked ({lock})")
