"""Where a benchmark records its numbers for bench/run_all.py (it keeps printing them too).

    from bench._report import record
    record("api_guests", "guest list, 1000 guests, tenant user p50", 12.3, "ms")

Each number is appended to `<BENCH_RESULTS_DIR>/<bench>-<BENCH_SETUP>.json` (default
`var/bench/`, setup named after DATABASE_URL). A number measured against a peer in the same run
(websockify for the console proxy) carries the peer's value, so the table can show the ratio.
"""

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def setup_name() -> str:
    """`embedded` (SQLite) or `postgres+redis`, unless the runner said which."""
    if name := os.environ.get("BENCH_SETUP"):
        return name
    return (
        "postgres+redis"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "embedded"
    )


def results_dir() -> Path:
    return Path(os.environ.get("BENCH_RESULTS_DIR") or REPO_ROOT / "var" / "bench")


def record(
    bench: str,
    measure: str,
    value: float,
    unit: str,
    *,
    peer: str = "",
    peer_value: float | None = None,
    higher_is_better: bool = False,
) -> None:
    path = results_dir() / f"{bench}-{setup_name()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(path.read_text()) if path.exists() else []
    rows.append(
        {
            "measure": measure,
            "value": value,
            "unit": unit,
            "peer": peer,
            "peer_value": peer_value,
            "higher_is_better": higher_is_better,
        }
    )
    path.write_text(json.dumps(rows, indent=1))
