"""A PVE API client for one cluster: API token auth, pinned TLS, address failover, one error map.

Built from plain values (see `ClusterEndpoint`), so workers without a request can build it from a
Cluster row. Only `apps/proxmox` imports proxmoxer.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from apps.monitoring.instruments import PVE_REQUEST_ERRORS, PVE_REQUEST_SECONDS
from apps.proxmox import errors
from apps.proxmox.tls import FingerprintAdapter, ca_bundle_file

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 15
DEFAULT_PORT = 8006


def default_timeout() -> float:
    """Seconds to wait for PVE's answer: the PROXMOX_TIMEOUT_SECONDS setting where Django is
    configured (PORTAL_PROXMOX_TIMEOUT_SECONDS), else 15."""
    from django.conf import settings

    if not settings.configured:
        return DEFAULT_TIMEOUT_SECONDS
    return float(getattr(settings, "PROXMOX_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


@dataclass(frozen=True)
class ClusterEndpoint:
    """How to reach one cluster. `addresses` are tried in order (`host` or `host:port`)."""

    addresses: Sequence[str]
    token_id: str  # user@realm!name
    token_secret: str
    fingerprint: str = ""
    ca_bundle: str = ""  # PEM; used when no fingerprint is pinned
    timeout: float = field(default_factory=default_timeout)
    name: str = ""  # the portal's name for the cluster, in metrics; its first address if none

    def __post_init__(self) -> None:
        if not self.addresses:
            raise ValueError("a cluster needs at least one API address")
        if "!" not in self.token_id:
            raise ValueError("the token id has the form user@realm!name")
        if not self.fingerprint and not self.ca_bundle:
            raise ValueError("pin the certificate's SHA-256 fingerprint or give a CA bundle")


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    return (host, int(port)) if port else (address, DEFAULT_PORT)


class PveClient:
    def __init__(self, endpoint: ClusterEndpoint) -> None:
        self.endpoint = endpoint
        self._apis: dict[str, ProxmoxAPI] = {}
        # The address that answered last is tried first next time.
        self._preferred = list(endpoint.addresses)

    @property
    def cluster_label(self) -> str:
        return self.endpoint.name or self.endpoint.addresses[0]

    @property
    def current_address(self) -> str:
        """The address the next call tries first."""
        return self._preferred[0]

    def _api(self, address: str) -> ProxmoxAPI:
        if address not in self._apis:
            host, port = split_address(address)
            user, token_name = self.endpoint.token_id.split("!", 1)
            verify: bool | str = (
                False if self.endpoint.fingerprint else ca_bundle_file(self.endpoint.ca_bundle)
            )
            api = ProxmoxAPI(
                host,
                port=port,
                user=user,
                token_name=token_name,
                token_value=self.endpoint.token_secret,
                verify_ssl=verify,
                timeout=self.endpoint.timeout,
            )
            if self.endpoint.fingerprint:
                # proxmoxer keeps its requests session here; the pin replaces CA validation.
                api._store["session"].mount(
                    "https://", FingerprintAdapter(self.endpoint.fingerprint)
                )
            self._apis[address] = api
        return self._apis[address]

    def request(self, method: str, path: str, **params: Any) -> Any:
        """Call `METHOD /api2/json/<path>`. Fails over to the next address when one cannot be
        reached; a write whose request may have arrived is never sent again (ProxmoxOutcomeUnknown).
        """
        last_error: errors.ProxmoxError | None = None
        for address in list(self._preferred):
            resource = self._api(address)(path.strip("/"))
            started = time.perf_counter()
            try:
                result = _call(resource, method, params)
            except ResourceException as error:
                answered = errors.from_resource_exception(error)
                self._count_error(answered)
                raise answered from error
            except requests.RequestException as error:
                logger.warning("PVE %s %s on %s failed: %s", method, path, address, error)
                last_error = errors.from_transport_exception(error, is_write=method != "GET")
                self._count_error(last_error)
                if isinstance(last_error, errors.ProxmoxTlsMismatch | errors.ProxmoxOutcomeUnknown):
                    raise last_error from error
                continue
            finally:
                elapsed = time.perf_counter() - started
                PVE_REQUEST_SECONDS.labels(cluster=self.cluster_label, method=method).observe(
                    elapsed
                )
                logger.debug("%s %s on %s took %.1f ms", method, path, address, elapsed * 1000)
            if self._preferred[0] != address:
                self._preferred.remove(address)
                self._preferred.insert(0, address)
            return result
        assert last_error is not None
        raise last_error

    def _count_error(self, error: errors.ProxmoxError) -> None:
        PVE_REQUEST_ERRORS.labels(cluster=self.cluster_label, error=type(error).__name__).inc()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def post(self, path: str, **params: Any) -> Any:
        return self.request("POST", path, **params)

    def put(self, path: str, **params: Any) -> Any:
        return self.request("PUT", path, **params)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, **params)


_METHODS: dict[str, Callable[..., Any]] = {
    "GET": lambda resource, params: resource.get(**params),
    "POST": lambda resource, params: resource.post(**params),
    "PUT": lambda resource, params: resource.put(**params),
    "DELETE": lambda resource, params: resource.delete(**params),
}


def _call(resource: Any, method: str, params: dict[str, Any]) -> Any:
    return _METHODS[method](resource, params)
