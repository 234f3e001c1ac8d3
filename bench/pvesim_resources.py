"""Benchmark: GET /cluster/resources on a pvesim with 10,000 guests, through an API token.

Usage: python bench/pvesim_resources.py [--guests 10000] [--requests 200]
Prints the start-up time, requests per second and p50/p99 latency. No assertions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import record
from tests.pvesim_server import PvesimServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pvesim-bench-") as directory:
        server = PvesimServer(
            data_dir=Path(directory) / "data", extra_args=("--guests", str(args.guests))
        )
        started = time.monotonic()
        server.start()
        startup = time.monotonic() - started
        print(f"start-up with {args.guests} guests: {startup:.1f} s")
        record("pvesim_resources", f"start-up with {args.guests} guests", startup, "s")
        try:
            run(server, args.requests)
        finally:
            server.stop()


def run(server: PvesimServer, count: int) -> None:
    session = requests.Session()
    # The simulator's own self-signed certificate is the CA (passed per request because a
    # session-level `verify` loses against REQUESTS_CA_BUNDLE).
    verify = str(server.data_dir / "pve-ssl.pem")
    login = session.post(
        f"{server.base_url}/access/ticket",
        data={"username": "root@pam", "password": server.root_password},
        verify=verify,
    ).json()["data"]
    created = session.post(
        f"{server.base_url}/access/users/root@pam/token/bench",
        data={"privsep": 0},
        headers={"CSRFPreventionToken": login["CSRFPreventionToken"]},
        cookies={"PVEAuthCookie": login["ticket"]},
        verify=verify,
    ).json()["data"]
    session.headers["Authorization"] = f"PVEAPIToken=root@pam!bench={created['value']}"
    url = f"{server.base_url}/cluster/resources"
    items = len(session.get(url, verify=verify).json()["data"])
    latencies = []
    begin = time.monotonic()
    for _ in range(count):
        started = time.monotonic()
        response = session.get(url, verify=verify)
        response.raise_for_status()
        latencies.append(time.monotonic() - started)
    elapsed = time.monotonic() - begin
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"GET /cluster/resources ({items} items) x {count} with an API token")
    print(f"  requests/s: {count / elapsed:.1f}")
    print(f"  p50: {quantiles[49] * 1000:.1f} ms   p99: {quantiles[98] * 1000:.1f} ms")
    where = f"GET /cluster/resources ({items} items)"
    record("pvesim_resources", f"{where}, requests/s", count / elapsed, "/s", higher_is_better=True)
    record("pvesim_resources", f"{where}, p50", quantiles[49] * 1000, "ms")
    record("pvesim_resources", f"{where}, p99", quantiles[98] * 1000, "ms")


if __name__ == "__main__":
    main()
