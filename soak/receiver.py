"""The billing system's endpoint for the portal's outbound events: a real HTTP server in a
thread that checks each signature, keeps the event ids, and refuses a share of deliveries (503)
so that the portal's retries are exercised."""

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from apps.billing.signing import SIGNATURE_HEADER, SignatureError, verify


class EventReceiver:
    def __init__(self, *, key: str, refuse_rate: float, seed: int) -> None:
        self.received: set[str] = set()
        self.deliveries = 0
        self.refused = 0
        self.bad_signatures = 0
        rng = random.Random(seed)  # noqa: S311
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.deliveries += 1
                    status = 503 if rng.random() < refuse_rate else 200
                    try:
                        verify(
                            header=self.headers[SIGNATURE_HEADER] or "", content=body, keys=[key]
                        )
                    except SignatureError:
                        receiver.bad_signatures += 1
                        status = 401
                    if status == 200:
                        receiver.received.add(json.loads(body)["id"])
                    elif status == 503:
                        receiver.refused += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/portal-events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
