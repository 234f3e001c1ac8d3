"""What happened when, in seconds since the traffic started; shared by the soak's threads."""

import threading
import time


class Timeline:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    def add(self, what: str) -> None:
        with self.lock:
            self.events.append((time.monotonic() - self.started, what))
