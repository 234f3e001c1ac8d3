"""The portal's Prometheus instruments, updated where things happen. What can be read from the
database or the broker at scrape time is in collectors.py instead."""

from prometheus_client import Counter, Gauge, Histogram

PVE_REQUEST_SECONDS = Histogram(
    "portal_pve_request_seconds",
    "PVE API calls and how long each took, by cluster and HTTP method.",
    ["cluster", "method"],
    # PVE answers reads in milliseconds; slow writes and timeouts take seconds.
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PVE_REQUEST_ERRORS = Counter(
    "portal_pve_request_errors",
    "PVE API calls that failed, by cluster and error (the portal's error class).",
    ["cluster", "error"],
)
# In multiprocess mode, the sum over the processes still alive.
CONSOLES_OPEN = Gauge(
    "portal_consoles_open",
    "Console sessions (VNC and terminal) relayed right now.",
    multiprocess_mode="livesum",
)
