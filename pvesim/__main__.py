"""Command line: ``python -m pvesim serve --data DIR [...]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from pvesim.context import Settings
from pvesim.server import build_simulator, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pvesim", description="Proxmox VE API simulator")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the PVE API over HTTPS")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8006)
    run.add_argument("--data", type=Path, required=True, help="state directory")
    run.add_argument("--nodes", type=int, default=3, help="nodes on first start")
    run.add_argument("--seed", choices=("demo",), help="seed content on first start")
    run.add_argument(
        "--task-speed", type=float, default=1.0, help="divide simulated task durations by this"
    )
    run.add_argument("--guests", type=int, default=0, help="pre-create N guests on first start")
    run.add_argument(
        "--auth-failure-delay",
        type=float,
        default=0.0,
        help="seconds to delay 401 answers (PVE uses 3)",
    )
    run.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    if args.task_speed <= 0:
        raise SystemExit("--task-speed must be positive")
    settings = Settings(
        data_dir=args.data.resolve(),
        host=args.host,
        port=args.port,
        task_speed=args.task_speed,
        auth_failure_delay=args.auth_failure_delay,
    )
    sim = build_simulator(settings, nodes=args.nodes, seed_name=args.seed, guests=args.guests)
    asyncio.run(serve(sim))


if __name__ == "__main__":
    main()
