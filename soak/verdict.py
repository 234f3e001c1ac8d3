"""After the drain: the invariants checked, and everything printed as markdown tables."""

from pathlib import Path

from apps.billing.models import Delivery
from apps.operations.models import Operation
from apps.tenancy.models import Tenant
from soak import invariants, report
from soak.traffic import NAME_PREFIX


def verdict(*, run_dir: Path, minutes, traffic, timeline, receiver, root, drained, web_log) -> int:
    billing = traffic["billing"]
    tenants = list(Tenant.objects.all())
    checks = [
        invariants.operations_terminal(),
        invariants.reservations_released(),
        invariants.quota_usage_matches_pve(root=root, tenants=tenants),
        invariants.guests_match_pve(root=root, tenants=tenants, name_prefix=NAME_PREFIX),
        invariants.inbound_webhooks_answered(
            billing.answers, replays=billing.replays, replay_problems=billing.replay_problems
        ),
        invariants.outbound_events_delivered(receiver.received),
        invariants.web_log_clean(web_log),
    ]
    operations = list(Operation.objects.all())
    deliveries = Delivery.objects.values_list("state", flat=True)
    sections = [
        f"# Soak: {minutes:g} min, logs in {run_dir}",
        "## What struck\n\n"
        + report.table(["at", "event"], [[f"{at:.0f} s", what] for at, what in timeline.events]),
        "## Traffic (HTTP answers as sent)\n\n" + report.traffic_table(traffic["tally"].counts),
        "## Operations\n\n" + report.operations_table(operations),
        "## Why operations failed\n\n" + report.reasons_table(operations),
        "## Webhooks\n\n"
        + report.table(
            [
                "inbound events",
                "replays",
                "outbound deliveries",
                "delivered",
                "failed",
                "refused by the receiver (retried)",
                "bad signatures",
            ],
            [
                [
                    len(billing.answers),
                    billing.replays,
                    len(deliveries),
                    sum(s == "delivered" for s in deliveries),
                    sum(s == "failed" for s in deliveries),
                    receiver.refused,
                    receiver.bad_signatures,
                ]
            ],
        ),
        "## Invariants\n\n" + report.invariants_table(checks),
    ]
    if traffic["errors"].counts:
        sections.insert(3, "## Driver errors\n\n" + report.traffic_table(traffic["errors"].counts))
    if not drained:
        sections.append("Drain: not everything ended within the drain deadline.")
    failed = [check for check in checks if not check.ok]
    sections.append(f"**{'FAILED' if failed or not drained else 'PASSED'}**")
    text = "\n\n".join(sections) + "\n"
    print(text)
    (run_dir / "report.md").write_text(text)
    for check in failed:
        (run_dir / f"problems-{checks.index(check)}.txt").write_text("\n".join(check.problems))
    return 1 if failed or not drained else 0
