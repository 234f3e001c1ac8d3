"""The soak's printed tables (markdown)."""

from collections import Counter

from soak.invariants import Check


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = [f"| {' | '.join(headers)} |", f"|{'---|' * len(headers)}"]
    lines += [f"| {' | '.join(str(cell) for cell in row)} |" for row in rows]
    return "\n".join(lines)


def traffic_table(counts: Counter) -> str:
    actions: dict[str, Counter] = {}
    for (action, outcome), count in counts.items():
        actions.setdefault(action, Counter())[outcome] += count
    rows = [
        [action, sum(outcomes.values()), ", ".join(f"{o}: {n}" for o, n in outcomes.most_common())]
        for action, outcomes in sorted(actions.items())
    ]
    return table(["request", "sent", "answers"], rows)


def operations_table(operations: list) -> str:
    states: dict[str, Counter] = {}
    for operation in operations:
        states.setdefault(operation.kind, Counter())[operation.state] += 1
    rows = [
        [kind, sum(c.values()), c["succeeded"], c["failed"], c["cancelled"]]
        for kind, c in sorted(states.items())
    ]
    return table(["operation", "total", "succeeded", "failed", "cancelled"], rows)


def reasons_table(operations: list, limit: int = 8) -> str:
    reasons = Counter(o.error.split("\n")[0][:90] for o in operations if o.error)
    return table(["failure reason (first line)", "operations"], reasons.most_common(limit))


def invariants_table(checks: list[Check]) -> str:
    rows = [
        [
            check.name,
            check.checked,
            "ok" if check.ok else f"FAILED ({len(check.problems)})",
            "; ".join(check.problems[:3])[:300],
        ]
        for check in checks
    ]
    return table(["invariant", "checked", "result", "first problems"], rows)
