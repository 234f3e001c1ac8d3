"""Fault injection, configured through ``/pvesim/faults`` (not a PVE API).

Rules match ``"METHOD /path"`` (path relative to ``/api2/json``) with a regular expression and
add latency, answer errors or drop the connection at a given rate. All randomness comes from one
``random.Random(seed)``, so a run with the same seed and the same request sequence behaves the
same. Task failures, offline nodes and storages filled by files PVE does not list are applied by
the task manager and the cluster state.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pvesim.context import Simulator


@dataclass(frozen=True)
class FaultRule:
    match: str
    error_rate: float = 0.0
    status: int = 500
    message: str = "simulated failure"
    latency_ms: int = 0
    drop_rate: float = 0.0

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultRule:
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        if "match" not in raw:
            raise ValueError("a rule needs 'match' (a regex on 'METHOD /path')")
        rule = cls(**raw)
        re.compile(rule.match)
        for rate in (rule.error_rate, rule.drop_rate):
            if not 0.0 <= rate <= 1.0:
                raise ValueError("rates must be between 0 and 1")
        if not 400 <= rule.status <= 599:
            raise ValueError("status must be between 400 and 599")
        return rule

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request."""

    latency_ms: int = 0
    drop: bool = False
    error: tuple[int, str] | None = None


@dataclass
class Faults:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    _random: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311

    def configure(self, *, seed: int, rules: list[FaultRule]) -> None:
        self.seed = seed
        self.rules = rules
        self._random = random.Random(seed)  # noqa: S311 - determinism, not security

    def reset(self) -> None:
        self.configure(seed=0, rules=[])

    def decide(self, method: str, path: str) -> FaultDecision:
        subject = f"{method} {path}"
        latency = 0
        for rule in self.rules:
            if not re.search(rule.match, subject):
                continue
            latency += rule.latency_ms
            if rule.drop_rate and self._random.random() < rule.drop_rate:
                return FaultDecision(latency_ms=latency, drop=True)
            if rule.error_rate and self._random.random() < rule.error_rate:
                return FaultDecision(latency_ms=latency, error=(rule.status, rule.message))
        return FaultDecision(latency_ms=latency)


def apply_fault_settings(sim: Simulator, body: dict[str, Any]) -> None:
    """PUT /pvesim/faults: validate everything first, then apply (all or nothing)."""
    rules = [FaultRule.from_json(rule) for rule in body.get("rules", [])]
    seed = int(body.get("seed", 0))
    plans = {}
    for key in ("fail_tasks", "warn_tasks"):
        if (plan := body.get(key)) is not None:
            plans[key] = (int(plan.get("count", 0)), str(plan.get("message", "")))
    offline = body.get("offline_nodes")
    unknown = set(offline or ()) - set(sim.state.nodes)
    if unknown:
        raise ValueError(f"unknown nodes: {', '.join(sorted(unknown))}")
    filled = _storage_fill(sim, body.get("fill_storages"))
    sim.faults.configure(seed=seed, rules=rules)
    for key, (count, message) in plans.items():
        plan = sim.tasks.fail_plan if key == "fail_tasks" else sim.tasks.warn_plan
        plan.count = count
        plan.message = message or plan.message
    if offline is not None:
        for node in sim.state.nodes.values():
            node.online = node.name not in offline
        sim.state.save_cluster()
    if filled is not None:
        sim.state.foreign_bytes = filled


def _storage_fill(sim: Simulator, raw: Any) -> dict[str, int] | None:
    """``fill_storages``: storage id -> bytes other files take on it (None: left as is)."""
    if raw is None:
        return None
    unknown = set(raw) - set(sim.state.storages)
    if unknown:
        raise ValueError(f"unknown storages: {', '.join(sorted(unknown))}")
    filled = {storeid: int(size) for storeid, size in raw.items()}
    if any(size < 0 for size in filled.values()):
        raise ValueError("fill_storages sizes must not be negative")
    return filled


def reset_faults(sim: Simulator) -> None:
    """DELETE /pvesim/faults: no rules, no task faults, every node online, no storage filled."""
    sim.faults.reset()
    sim.tasks.fail_plan.count = sim.tasks.warn_plan.count = 0
    sim.state.foreign_bytes = {}
    for node in sim.state.nodes.values():
        node.online = True
    sim.state.save_cluster()


def fault_settings(sim: Simulator) -> dict[str, Any]:
    plans = {"fail_tasks": sim.tasks.fail_plan, "warn_tasks": sim.tasks.warn_plan}
    return {
        "seed": sim.faults.seed,
        "rules": [rule.to_json() for rule in sim.faults.rules],
        **{key: {"count": plan.count, "message": plan.message} for key, plan in plans.items()},
        "offline_nodes": sorted(n.name for n in sim.state.nodes.values() if not n.online),
        "fill_storages": dict(sim.state.foreign_bytes),
    }
