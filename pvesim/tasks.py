"""Background tasks with UPIDs and logs, run as asyncio tasks (FACTS §5, §6).

A worker is an async function receiving a :class:`TaskContext`; it logs lines, sleeps for
"realistic" durations divided by ``--task-speed`` and raises :class:`TaskError` (or
``PveError``) to fail. The runner writes the final ``TASK OK`` / ``TASK WARNINGS: n`` /
``TASK ERROR: msg`` line, persists the log under ``tasks/<hex>/<UPID>`` and appends the task to
``tasks/index.jsonl``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pvecore.upid import Upid, exitstatus_from_last_line, exitstatus_is_ok, normalize_status_type
from pvesim.errors import PveError
from pvesim.store import atomic_write


class TaskError(Exception):
    """A worker failure; the message becomes the ``TASK ERROR:`` text."""


@dataclass
class Task:
    upid: Upid
    text: str
    lines: list[str] = field(default_factory=list)
    endtime: int | None = None
    runner: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.endtime is None

    @property
    def exitstatus(self) -> str | None:
        if self.running:
            return None
        return exitstatus_from_last_line(self.lines[-1] if self.lines else "")

    def describe(self) -> dict[str, Any]:
        """Fields shared by the status call and the task lists."""
        upid = self.upid
        info: dict[str, Any] = {
            "upid": self.text,
            "node": upid.node,
            "pid": upid.pid,
            "pstart": upid.pstart,
            "starttime": upid.starttime,
            "type": upid.type,
            "id": upid.id,
            "user": upid.userid,
        }
        if upid.tokenid:
            info["tokenid"] = upid.tokenid
        return info


class TaskContext:
    """What a worker may do: log, warn, sleep in simulated time."""

    def __init__(self, task: Task, speed: float, doomed: str | None = None) -> None:
        self._task = task
        self._speed = speed
        self.warnings = 0
        # An injected failure strikes at the worker's first wait, as a real failure strikes
        # mid-task: the worker's own cleanup (a failed create removing its guest) runs.
        self.doomed = doomed

    @property
    def upid(self) -> str:
        return self._task.text

    def log(self, line: str) -> None:
        self._task.lines.extend(line.split("\n"))

    def warn(self, line: str) -> None:
        self.warnings += 1
        self.log(f"WARN: {line}")

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time (real time divided by the task speed)."""
        if self.doomed is not None:
            await asyncio.sleep(0.5 / self._speed)
            raise TaskError(self.doomed)
        await asyncio.sleep(seconds / self._speed)


Worker = Callable[[TaskContext], Awaitable[None]]


@dataclass
class TaskFaultPlan:
    """Fault injection: the next ``count`` tasks fail (or warn) with ``message``."""

    count: int = 0
    message: str = "simulated failure"

    def take(self) -> str | None:
        if self.count <= 0:
            return None
        self.count -= 1
        return self.message


class TaskManager:
    """Starts, tracks, lists and persists tasks for every simulated node."""

    def __init__(self, data_dir: Path, speed: float) -> None:
        self._dir = data_dir / "tasks"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._index_path = self._dir / "index.jsonl"
        self.speed = speed
        self.fail_plan = TaskFaultPlan()
        self.warn_plan = TaskFaultPlan(message="simulated warning")
        self._tasks: dict[str, Task] = {}
        self._pid_counter = random.randrange(1000, 400000)  # noqa: S311 - not security relevant
        # Clock ticks since "boot" of the simulated nodes; constant for this process.
        self._pstart = int(time.monotonic() * 100) % 0xFFFFFFF + 1000
        self._load()

    # --- persistence ---------------------------------------------------------------------
    def _load(self) -> None:
        if not self._index_path.exists():
            return
        for raw_line in self._index_path.read_text().splitlines():
            try:
                entry = json.loads(raw_line)
            except json.JSONDecodeError:
                continue  # a torn final line after a crash: that task was never committed
            upid = Upid.decode(entry["upid"])
            task = Task(upid, entry["upid"], endtime=entry.get("endtime"))
            log_path = self._log_path(entry["upid"], upid)
            if log_path.exists():
                task.lines = log_path.read_text().splitlines()
            if task.endtime is None:
                # The simulator died while this ran: it stopped without a final TASK line.
                task.endtime = (
                    int(log_path.stat().st_mtime) if log_path.exists() else upid.starttime
                )
            self._tasks[entry["upid"]] = task

    def _log_path(self, text: str, upid: Upid) -> Path:
        return self._dir / f"{upid.starttime:08X}"[-1] / text

    def _persist(self, task: Task) -> None:
        if task.endtime is not None:
            atomic_write(self._log_path(task.text, task.upid), "\n".join(task.lines) + "\n")
        # The index gets a record when a task starts and one when it ends; the last one wins.
        record = json.dumps({"upid": task.text, "endtime": task.endtime}) + "\n"
        with self._index_path.open("a") as index:
            index.write(record)
            index.flush()
            os.fsync(index.fileno())

    # --- running -------------------------------------------------------------------------
    def start(self, *, node: str, type_: str, id_: str, user: str, worker: Worker) -> str:
        """Start ``worker`` as a task and return its UPID string."""
        self._pid_counter += random.randrange(1, 50)  # noqa: S311
        upid = Upid(
            node=node,
            pid=self._pid_counter,
            pstart=self._pstart,
            starttime=int(time.time()),
            type=type_,
            id=id_,
            user=user,
        )
        text = upid.encode()
        task = Task(upid, text)
        self._tasks[text] = task
        self._persist(task)
        task.runner = asyncio.get_running_loop().create_task(self._run(task, worker))
        return text

    async def _run(self, task: Task, worker: Worker) -> None:
        context = TaskContext(task, self.speed, doomed=self.fail_plan.take())
        try:
            await worker(context)
            if context.doomed is not None:  # a worker that never waited fails at its end
                raise TaskError(context.doomed)
            if warning := self.warn_plan.take():
                context.warn(warning)
        except (TaskError, PveError) as error:
            task.lines.append(f"TASK ERROR: {error}")
        except asyncio.CancelledError:  # DELETE /nodes/{node}/tasks/{upid}
            task.lines.append("TASK ERROR: interrupted by signal")
        except Exception as error:  # a simulator bug must still end the task visibly
            task.lines.append(f"TASK ERROR: internal simulator error: {error!r}")
        else:
            task.lines.append(
                f"TASK WARNINGS: {context.warnings}" if context.warnings else "TASK OK"
            )
        task.endtime = int(time.time())
        task.runner = None
        self._persist(task)

    def abort(self, upid: str) -> None:
        task = self._tasks.get(upid)
        if task and task.runner:
            task.runner.cancel()

    async def shutdown(self) -> None:
        runners = [task.runner for task in self._tasks.values() if task.runner]
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    # --- queries -------------------------------------------------------------------------
    def get(self, upid: str) -> Task | None:
        return self._tasks.get(upid)

    def newest_first(self) -> list[Task]:
        # Later-started first also among tasks started in the same second (stable sort).
        tasks = list(self._tasks.values())
        tasks.reverse()
        tasks.sort(key=lambda task: task.upid.starttime, reverse=True)
        return tasks

    @staticmethod
    def list_item(task: Task) -> dict[str, Any]:
        """An item of /nodes/{node}/tasks and /cluster/tasks: status holds the exit status."""
        item = task.describe()
        if task.running:
            item["status"] = "RUNNING"
        else:
            item["endtime"] = task.endtime
            item["status"] = task.exitstatus
        return item

    @staticmethod
    def status_item(task: Task) -> dict[str, Any]:
        item = task.describe()
        item["status"] = "running" if task.running else "stopped"
        if not task.running:
            item["exitstatus"] = task.exitstatus
        return item

    @staticmethod
    def is_error(task: Task) -> bool:
        return not task.running and not exitstatus_is_ok(task.exitstatus or "")

    @staticmethod
    def status_type(task: Task) -> str:
        return normalize_status_type(task.exitstatus or "")
