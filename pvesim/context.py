"""The simulator object shared by all handlers, and the per-request context they receive."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pvesim.auth import TicketSigner
from pvesim.errors import permission_denied
from pvesim.faults import Faults
from pvesim.state import ClusterState
from pvesim.tasks import TaskManager
from pvesim.users import ROOT, AccessStore

if TYPE_CHECKING:
    from aiohttp import web

    from pvesim.consoles import ConsoleRegistry


@dataclass
class Settings:
    data_dir: Path
    host: str
    port: int
    task_speed: float = 1.0
    # PVE delays every 401 by 3 s to slow down password guessing; tests would crawl.
    auth_failure_delay: float = 0.0


@dataclass
class Simulator:
    settings: Settings
    state: ClusterState
    access: AccessStore
    tasks: TaskManager
    signer: TicketSigner
    consoles: ConsoleRegistry
    faults: Faults = field(default_factory=Faults)
    fingerprint: str = ""


@dataclass
class Reply:
    """A handler result with envelope extras (``total``, ``changes``)."""

    data: Any
    total: int | None = None


@dataclass
class RequestContext:
    sim: Simulator
    request: web.Request | None
    userid: str | None  # the owning user (None for anonymous calls)
    tokenid: str | None = None  # the full token id when authenticated by an API token
    uploads: dict[str, int] = field(default_factory=dict)  # multipart file sizes by parameter

    @property
    def principal(self) -> str:
        """Who permissions are computed for: the full token id or the userid."""
        return self.tokenid or self.userid or ""

    @property
    def is_root(self) -> bool:
        return self.userid == ROOT and self.tokenid is None

    @property
    def task_user(self) -> str:
        """The UPID user field: token-started tasks carry the full token id."""
        return self.principal

    def has(self, path: str, privs: list[str] | tuple[str, ...], *, any_: bool = False) -> bool:
        return self.sim.access.has_privileges(self.principal, path, tuple(privs), any_=any_)

    def require(self, path: str, privs: list[str] | tuple[str, ...], *, any_: bool = False) -> None:
        if not self.has(path, privs, any_=any_):
            raise permission_denied(f"Permission check failed ({path}, {'|'.join(privs)})")
