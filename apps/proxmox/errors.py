"""PVE's errors, mapped once onto a small hierarchy the rest of the portal handles."""

import requests
import urllib3
from proxmoxer.core import ResourceException


class ProxmoxError(Exception):
    """Any failure talking to PVE; `message` is PVE's own text where it gave one."""

    retryable = False

    def __init__(
        self, message: str, *, status: int | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or {}


class ProxmoxUnavailable(ProxmoxError):
    """Not reachable, timed out, or a node behind the proxy is down (59x): try again later."""

    retryable = True


class ProxmoxAuthenticationFailed(ProxmoxError):
    """401: the token is wrong, expired or its user is disabled."""


class ProxmoxPermissionDenied(ProxmoxError):
    """403: the portal's token lacks a privilege."""


class ProxmoxInvalid(ProxmoxError):
    """400: PVE refused the parameters (`errors` says which)."""


class ProxmoxNotFound(ProxmoxError):
    """The object does not exist (PVE answers 500 'does not exist' or 404)."""


class ProxmoxConflict(ProxmoxError):
    """The object is locked or changed meanwhile (lock, digest mismatch, file lock timeout)."""

    retryable = True


class ProxmoxExists(ProxmoxError):
    """The object to create exists already (e.g. `VM 100 already exists`)."""


class ProxmoxOutcomeUnknown(ProxmoxError):
    """A write reached PVE but its answer was lost (read timeout, connection dropped): it may
    have happened. Never retried blindly; the caller must look at PVE's state first."""


class ProxmoxTlsMismatch(ProxmoxError):
    """The server's certificate does not match the pinned fingerprint or CA: refuse to talk."""


_CONFLICT_MARKERS = (
    "is locked",
    "detected modified configuration",
    "got timeout",
)
_NOT_FOUND_MARKERS = ("does not exist", "no such", "not found")


def from_resource_exception(error: ResourceException) -> ProxmoxError:
    status = error.status_code
    message = (error.content or error.status_message or "").strip()
    errors = error.errors if isinstance(error.errors, dict) else None
    lowered = message.lower()
    if status == 401:
        return ProxmoxAuthenticationFailed(message, status=status)
    if status == 403:
        return ProxmoxPermissionDenied(message, status=status)
    if status == 400:
        return ProxmoxInvalid(message, status=status, errors=errors)
    if status == 404 or any(marker in lowered for marker in _NOT_FOUND_MARKERS):
        return ProxmoxNotFound(message, status=status)
    if "already exists" in lowered:
        return ProxmoxExists(message, status=status)
    if any(marker in lowered for marker in _CONFLICT_MARKERS):
        return ProxmoxConflict(message, status=status)
    if status >= 590 or status in (502, 503, 504):
        return ProxmoxUnavailable(message, status=status)
    return ProxmoxError(message, status=status, errors=errors)


def is_connect_failure(error: requests.RequestException) -> bool:
    """The request never reached PVE: safe to send again, to this or another address."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(error, requests.exceptions.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return False


def from_transport_exception(
    error: requests.RequestException, *, is_write: bool = False
) -> ProxmoxError:
    """The message names no address or internals: it may reach tenants through operations;
    the client logs the details."""
    if isinstance(error, requests.exceptions.SSLError):
        return ProxmoxTlsMismatch("the cluster's TLS certificate does not match its pin or CA")
    if is_write and not is_connect_failure(error):
        return ProxmoxOutcomeUnknown(
            f"the cluster did not answer a change in time ({type(error).__name__}); "
            "it may have been applied"
        )
    return ProxmoxUnavailable(f"the cluster's API is not reachable ({type(error).__name__})")
