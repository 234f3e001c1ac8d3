"""Operations: the portal's record of every PVE-touching action, made of recorded steps."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Operation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    TERMINAL_STATES = frozenset({State.SUCCEEDED, State.FAILED, State.CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64, help_text=_("e.g. guest.start"))
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    cluster = models.ForeignKey(
        "clusters.Cluster", on_delete=models.PROTECT, related_name="operations"
    )
    guest = models.ForeignKey(
        "guests.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="operations"
    )
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="operations"
    )
    target = models.CharField(max_length=255, help_text=_("ACL path, e.g. /vms/100"))
    actor = models.CharField(max_length=160)
    actor_kind = models.CharField(max_length=16)
    params = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text=_("Retries after PVE was busy or unreachable.")
    )
    # When the worker means to look again; an operation long past it lost its message.
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A worker advancing the operation holds it until then; a second copy of its message waits.
    claimed_until = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.CharField(max_length=160, blank=True)
    # A client's Idempotency-Key: the same key from the same actor returns this operation.
    idempotency_key = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["actor", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_idempotency_key_per_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} ({self.state})"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL_STATES


class Step(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # Stored before polling: a re-run after a worker died polls this task instead of redoing it.
    upid = models.CharField(max_length=255, blank=True)
    exitstatus = models.TextField(blank=True)
    task_log = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["operation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["operation", "position"], name="unique_step_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name} ({self.state})"
