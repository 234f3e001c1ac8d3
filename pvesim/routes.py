"""The route table: every implemented (method, path) with its parameters and permissions.

API modules register handlers with :func:`endpoint`; the table is importable on its own
(``pvesim.routes.all_endpoints()``) so tests can compare it with PVE's published schema.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pvesim.params import Param

Handler = Callable[..., Awaitable[Any]]

API_MODULES = (
    "pvesim.api.access",
    "pvesim.api.accounts",
    "pvesim.api.acl",
    "pvesim.api.pools",
    "pvesim.api.cluster",
    "pvesim.api.nodes",
    "pvesim.api.tasks",
    "pvesim.api.guests",
    "pvesim.api.power",
    "pvesim.api.agent",
    "pvesim.api.provisioning",
    "pvesim.api.lifecycle",
    "pvesim.api.snapshots",
    "pvesim.api.storage",
    "pvesim.api.vzdump",
    "pvesim.api.console",
    "pvesim.api.ha",
    "pvesim.api.firewall",
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    params: tuple[Param, ...]
    permissions: dict[str, Any]
    handler: Handler
    allowtoken: bool = True
    protected: bool = False
    proxyto: str | None = None
    # vncwebsocket upgrades the connection; the app hands it the raw request.
    websocket: bool = False

    @property
    def public(self) -> bool:
        return self.permissions.get("user") == "world"


_ENDPOINTS: list[Endpoint] = []
_COMPILED: dict[str, list[tuple[re.Pattern[str], Endpoint]]] = {}
# Volume ids contain "/" (local:backup/vzdump-...), and clients do not always escape it.
_GREEDY_PLACEHOLDERS = {"volume"}


def endpoint(
    method: str,
    path: str,
    *,
    params: tuple[Param, ...] = (),
    permissions: dict[str, Any],
    allowtoken: bool = True,
    protected: bool = False,
    proxyto: str | None = None,
    websocket: bool = False,
) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as the handler of ``method path``."""

    def register(handler: Handler) -> Handler:
        declared = {param.name for param in params}
        for placeholder in re.findall(r"\{(\w+)\}", path):
            assert placeholder in declared, f"{method} {path}: {placeholder} not declared"
        item = Endpoint(
            method, path, params, permissions, handler, allowtoken, protected, proxyto, websocket
        )
        _ENDPOINTS.append(item)
        _COMPILED.setdefault(method, []).append((_compile(path), item))
        return handler

    return register


def _compile(path: str) -> re.Pattern[str]:
    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"(?P<{name}>.+)" if name in _GREEDY_PLACEHOLDERS else f"(?P<{name}>[^/]+)"

    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", placeholder, re.escape(path)) + "$")


def load_all() -> None:
    for module in API_MODULES:
        importlib.import_module(module)


def all_endpoints() -> list[Endpoint]:
    load_all()
    return list(_ENDPOINTS)


def resolve(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """Find the endpoint for a request path (relative to /api2/json) and its URI parameters."""
    for pattern, item in _COMPILED.get(method, ()):
        match = pattern.match(path)
        if match:
            return item, match.groupdict()
    return None
