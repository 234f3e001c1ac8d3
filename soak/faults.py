"""pvesim's fault injection (`/pvesim/faults`, pvesim/README.md) and the faults a soak runs
under."""

import requests

# Workers wait this long for PVE's answer. While `SLOW_WRITES` is on, power actions and destroys
# of every third guest answer later than that (ProxmoxOutcomeUnknown) and still happen: PVE got
# them. (A clone or create whose answer is late never happens in pvesim, which reads its body
# after the delay from a closed connection; dropped connections stand for those.)
WORKER_PVE_TIMEOUT_SECONDS = 2
SLOW_WRITES = {
    "match": r"^(POST /nodes/[^/]+/(qemu|lxc)/\d*[147]/status/\w+"
    r"|DELETE /nodes/[^/]+/(qemu|lxc)/\d*[147])$",
    "latency_ms": WORKER_PVE_TIMEOUT_SECONDS * 1000 + 500,
}
BACKGROUND_FAULTS = [
    {"match": ".", "latency_ms": 10},
    {"match": r"^(POST|PUT|DELETE) /", "error_rate": 0.04, "status": 500},
    {"match": r"^(POST|PUT|DELETE) /", "drop_rate": 0.03},
    {"match": r"^GET /", "error_rate": 0.03, "status": 503, "message": "simulated overload"},
    {"match": r"^GET /", "drop_rate": 0.01},
]


class Faults:
    def __init__(self, *, host: str, port: int, ca_file: str) -> None:
        self.url = f"https://{host}:{port}/pvesim/faults"
        self.verify = ca_file

    def put(self, **faults: object) -> None:
        requests.put(self.url, json=faults, verify=self.verify, timeout=10).raise_for_status()

    def clear(self) -> None:
        requests.delete(self.url, verify=self.verify, timeout=10).raise_for_status()
