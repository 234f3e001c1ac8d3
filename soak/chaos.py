"""What goes wrong during a soak, at fixed fractions of its duration: pvesim's faults all along
(errors, latency, lost answers, failing tasks, answers later than the workers wait), a node
offline and back, a worker SIGKILLed and replaced, Redis restarted."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from soak.faults import BACKGROUND_FAULTS, SLOW_WRITES, Faults
from soak.processes import RedisServer
from soak.supervisor import Supervisor
from soak.timeline import Timeline

OFFLINE_NODE = "pve3"
REDIS_DOWN_SECONDS = 3


@dataclass
class Chaos:
    faults: Faults
    redis: RedisServer
    supervisor: Supervisor
    timeline: Timeline

    def plan(self) -> list[tuple[float, Callable[[], str]]]:
        return [
            (0.0, self.faults_on),
            (0.2, self.node_offline),
            (0.3, self.kill_worker),
            (0.45, self.node_back),
            (0.55, self.restart_redis),
            (0.7, self.more_failing_tasks),
        ]

    def run(self, *, duration: float, stop: threading.Event) -> None:
        for fraction, event in self.plan():
            due = self.timeline.started + fraction * duration
            if stop.wait(max(0.0, due - time.monotonic())):
                return
            try:
                what = event()
            except Exception as error:  # a fault that could not be set is reported, not fatal
                what = f"{event.__name__} failed: {error}"
            self.timeline.add(what)

    def faults_on(self) -> str:
        self.faults.put(
            seed=20261126,
            rules=[SLOW_WRITES, *BACKGROUND_FAULTS],
            fail_tasks={"count": 4, "message": "simulated storage hiccup"},
            warn_tasks={"count": 3, "message": "simulated warning"},
        )
        return "pvesim faults on: errors, lost answers, latency, slow writes, 4 failing tasks"

    def node_offline(self) -> str:
        self.faults.put(offline_nodes=[OFFLINE_NODE])
        return f"node {OFFLINE_NODE} offline"

    def kill_worker(self) -> str:
        pid = self.supervisor.kill_and_replace("worker-1")
        return f"worker-1 (pid {pid}) SIGKILLed with its children, a new one started"

    def node_back(self) -> str:
        self.faults.put(offline_nodes=[])
        return f"node {OFFLINE_NODE} back online"

    def restart_redis(self) -> str:
        self.redis.restart(down_seconds=REDIS_DOWN_SECONDS)
        return f"Redis restarted ({REDIS_DOWN_SECONDS} s down, queued messages lost)"

    def more_failing_tasks(self) -> str:
        self.faults.put(
            seed=7,
            rules=BACKGROUND_FAULTS,
            fail_tasks={"count": 4, "message": "storage hiccup"},
        )
        return "slow writes off, 4 more failing tasks"
