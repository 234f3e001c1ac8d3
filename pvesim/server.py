"""Building the simulator from a data directory and serving it over HTTPS."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from aiohttp import web

from pvesim import seed
from pvesim.app import create_app
from pvesim.auth import TicketSigner
from pvesim.consoles import ConsoleRegistry
from pvesim.context import Settings, Simulator
from pvesim.state import ClusterState
from pvesim.store import atomic_write
from pvesim.tasks import TaskManager
from pvesim.tls import ensure_certificate, fingerprint, server_context
from pvesim.users import AccessStore

ROOT_PASSWORD_FILE = "priv/root-password"  # noqa: S105 - a path, not a secret


def build_simulator(
    settings: Settings, *, nodes: int, seed_name: str | None, guests: int
) -> Simulator:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    state = ClusterState(data_dir)
    access = AccessStore(data_dir)
    if not state.initialized:
        password = seed.seed_cluster(state, access, nodes=nodes)
        # Kept so that restarts can print it again; a real node never stores it.
        atomic_write(data_dir / ROOT_PASSWORD_FILE, password, mode=0o600)
        if seed_name == "demo":
            seed.seed_demo(state)
        if guests:
            seed.seed_scale_guests(state, guests)
    cert_path, _key_path = ensure_certificate(data_dir, settings.host)
    sim = Simulator(
        settings=settings,
        state=state,
        access=access,
        tasks=TaskManager(data_dir, settings.task_speed),
        signer=TicketSigner(data_dir / "priv"),
        consoles=ConsoleRegistry(),
    )
    sim.fingerprint = fingerprint(cert_path)
    return sim


def root_password(data_dir: Path) -> str:
    return (data_dir / ROOT_PASSWORD_FILE).read_text().strip()


async def serve(sim: Simulator) -> None:
    settings = sim.settings
    app = create_app(sim)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    cert_path, key_path = ensure_certificate(settings.data_dir, settings.host)
    site = web.TCPSite(
        runner, settings.host, settings.port, ssl_context=server_context(cert_path, key_path)
    )
    await site.start()
    print(f"pvesim: fingerprint {sim.fingerprint}", flush=True)
    print(f"pvesim: root@pam password {root_password(settings.data_dir)}", flush=True)
    print(f"pvesim: listening on https://{settings.host}:{settings.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    logging.getLogger("pvesim").info("shutting down")
    await runner.cleanup()
