"""What the deployment's `restart: unless-stopped` (docker-compose.yml) does for the soak's web
server, workers and beat: one that exits on its own is started again, and the timeline says
so. The chaos plan's deliberate kill goes through here too, so it is not counted twice."""

import threading
from collections.abc import Callable

from soak.processes import Process
from soak.timeline import Timeline

CHECK_SECONDS = 1.0


class Supervisor:
    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.factories: dict[str, Callable[[], Process]] = {}
        self.running: dict[str, Process] = {}
        self.restarts = 0
        self.lock = threading.Lock()

    def start(self, name: str, factory: Callable[[], Process]) -> Process:
        with self.lock:
            self.factories[name] = factory
            self.running[name] = factory()
            return self.running[name]

    def kill_and_replace(self, name: str) -> int:
        """SIGKILL the process (and its children) and start a new one; the killed pid."""
        with self.lock:
            victim = self.running[name]
            victim.kill()
            self.running[name] = self.factories[name]()
            return victim.process.pid

    def watch(self, stop: threading.Event) -> None:
        while not stop.wait(CHECK_SECONDS):
            with self.lock:
                for name, process in self.running.items():
                    code = process.process.poll()
                    if code is not None:
                        process.kill()
                        self.running[name] = self.factories[name]()
                        self.restarts += 1
                        self.timeline.add(f"{name} exited on its own (status {code}), restarted")

    def stop_all(self) -> None:
        with self.lock:
            for process in self.running.values():
                process.stop()
