"""Run every benchmark under bench/ on the embedded setup and on PostgreSQL + Redis, and print
one markdown table of what they recorded (bench/_report.py), also written to
var/bench/results.md.

    .venv/bin/python bench/run_all.py                          # what `make bench` runs
    .venv/bin/python bench/run_all.py --setup embedded pages   # one benchmark, one setup

PostgreSQL and Redis come from BENCH_DATABASE_URL and BENCH_REDIS_URL (defaults: the local
servers, database `portal_bench`, Redis database 11). A setup whose servers do not answer is
skipped, and says so.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._report import REPO_ROOT, results_dir

BENCH_DIR = REPO_ROOT / "bench"
EMBEDDED, SERVERS = "embedded", "postgres+redis"
# Benchmarks that never touch the portal's database, cache or broker: one run is enough.
SETUP_FREE = {"pvesim_resources"}


def benchmarks() -> list[str]:
    return sorted(
        path.stem for path in BENCH_DIR.glob("[!_]*.py") if path.name != Path(__file__).name
    )


def setup_env(setup: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if setup == SERVERS:
        env["DATABASE_URL"] = os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
        )
        env["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    return {**env, "BENCH_SETUP": setup, "BENCH_RESULTS_DIR": str(results_dir())}


def unreachable(env: dict[str, str]) -> list[str]:
    """The servers of a setup that do not accept a connection."""
    down = []
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name in env:
            url = urllib.parse.urlsplit(env[name])
            try:
                socket.create_connection((url.hostname, url.port), timeout=2).close()
            except OSError:
                down.append(f"{name}={env[name]}")
    return down


def run(bench: str, setup: str, env: dict[str, str]) -> tuple[bool, float]:
    (results_dir() / f"{bench}-{setup}.json").unlink(missing_ok=True)
    print(f"\n=== {bench} ({setup}) ===", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, str(BENCH_DIR / f"{bench}.py")], cwd=REPO_ROOT, env=env)
    return code == 0, time.monotonic() - started


def load(bench: str, setup: str) -> list[dict]:
    path = results_dir() / f"{bench}-{setup}.json"
    return json.loads(path.read_text()) if path.exists() else []


def number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def peer_ratio(row: dict | None) -> str:
    if not row or not row["peer"] or not row["peer_value"]:
        return ""
    return f"{row['value'] / row['peer_value']:.2f}x {row['peer']} ({number(row['peer_value'])})"


def table(names: list[str], setups: list[str], outcomes: dict[tuple[str, str], str]) -> str:
    lines = [
        f"| benchmark | measure | unit | {' | '.join(setups)} | vs peer, same run |",
        f"|---|---|---|{'---:|' * len(setups)}---|",
    ]
    for bench in names:
        rows = {setup: {r["measure"]: r for r in load(bench, setup)} for setup in setups}
        measures = list(dict.fromkeys(m for setup in setups for m in rows[setup]))
        if not measures:
            states = ", ".join(f"{s}: {outcomes.get((bench, s), 'not run')}" for s in setups)
            lines.append(
                f"| {bench} | (printed only, nothing recorded; {states}) | | {' | ' * len(setups)}|"
            )
        for measure in measures:
            found = [rows[setup].get(measure) for setup in setups]
            unit = next(r for r in found if r)["unit"]
            values = [
                number(r["value"]) if r else ("=" if bench in SETUP_FREE else "-") for r in found
            ]
            ratios = " / ".join(filter(None, (peer_ratio(r) for r in found)))
            lines.append(f"| {bench} | {measure} | {unit} | {' | '.join(values)} | {ratios} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=(EMBEDDED, SERVERS), action="append")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args()
    setups = args.setup or [EMBEDDED, SERVERS]
    names = args.names or benchmarks()
    outcomes: dict[tuple[str, str], str] = {}
    for setup in setups:
        env = setup_env(setup)
        if down := unreachable(env):
            print(f"\n=== {setup}: skipped, not answering: {', '.join(down)} ===")
            outcomes.update({(bench, setup): "skipped" for bench in names})
            continue
        for bench in names:
            if bench in SETUP_FREE and setup != setups[0]:
                continue
            ok, seconds = run(bench, setup, env)
            outcomes[bench, setup] = f"ok in {seconds:.0f} s" if ok else "FAILED"
    report = table(names, setups, outcomes)
    failed = sorted(f"{b} ({s})" for (b, s), state in outcomes.items() if state == "FAILED")
    summary = "\n".join(
        [
            "",
            "## Benchmarks",
            "",
            report,
            "",
            "Run times: "
            + ", ".join(f"{b} ({s}) {state}" for (b, s), state in sorted(outcomes.items())),
        ]
    )
    print(summary)
    (results_dir() / "results.md").write_text(summary.lstrip() + "\n")
    print(f"\nwritten: {results_dir() / 'results.md'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
