"""Forms of the backup pages: they parse input; the backup services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.backups.models import BackupSchedule
from apps.backups.services import NOTES_MAX_LENGTH, ScheduleSpec, keep_options
from apps.backups.services.schedules import KEEP_FIELDS
from apps.core.forms import BootstrapForm
from apps.tenancy.models import Plan

MODE_HELP = _(
    "Snapshot: the guest keeps running. Suspend: paused briefly for a consistent copy. "
    "Stop: shut down during the backup, then started again."
)


class BackupCreateForm(BootstrapForm):
    prefix = "backup"  # its fields share the guest page with the settings form's
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=BackupSchedule.Mode.choices,
        initial="snapshot",
        help_text=MODE_HELP,
    )
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=NOTES_MAX_LENGTH,
        help_text=_("One line, shown in the list."),
    )
    protected = forms.BooleanField(
        label=_("Protected"),
        required=False,
        help_text=_("Never pruned nor deleted until unprotected."),
    )


class BackupNotesForm(BootstrapForm):
    notes = forms.CharField(label=_("Notes"), required=False, max_length=NOTES_MAX_LENGTH)


class RestoreNewForm(BootstrapForm):
    name = forms.CharField(label=_("Name of the new guest"), max_length=63)
    plan = forms.ChoiceField(label=_("Plan"))

    def __init__(self, *args, plans: list[Plan], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.plans = {plan.slug: plan for plan in plans}
        self.fields["plan"].choices = [(plan.slug, plan.name) for plan in plans]

    def chosen_plan(self) -> Plan:
        return self.plans[self.cleaned_data["plan"]]


class RestoreOverForm(BootstrapForm):
    confirm = forms.CharField(label=_("Type the guest's name to confirm"), max_length=128)


class ScheduleForm(BootstrapForm):
    prefix = "schedule"  # each schedule's own form: `schedule-<id>`
    schedule = forms.CharField(
        label=_("When"),
        max_length=128,
        help_text=_(
            "A PVE calendar event, in the portal's time zone: 02:30 (every day at 02:30), "
            "mon..fri 22:00 (weekdays at 22:00), */6:00 (every six hours), sat 03:00."
        ),
    )
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=BackupSchedule.Mode.choices,
        initial="snapshot",
        help_text=MODE_HELP,
    )
    keep_last = forms.IntegerField(label=_("Keep last"), min_value=0, initial=0)
    keep_hourly = forms.IntegerField(label=_("Keep hourly"), min_value=0, initial=0)
    keep_daily = forms.IntegerField(label=_("Keep daily"), min_value=0, initial=0)
    keep_weekly = forms.IntegerField(label=_("Keep weekly"), min_value=0, initial=0)
    keep_monthly = forms.IntegerField(label=_("Keep monthly"), min_value=0, initial=0)
    keep_yearly = forms.IntegerField(label=_("Keep yearly"), min_value=0, initial=0)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    @classmethod
    def of(cls, schedule: BackupSchedule) -> "ScheduleForm":
        """The form filled with the schedule as it is."""
        return cls(
            initial={
                "schedule": schedule.schedule,
                "mode": schedule.mode,
                "enabled": schedule.enabled,
                **{name: getattr(schedule, name) for name in KEEP_FIELDS},
            },
            prefix=f"schedule-{schedule.pk}",
        )

    def spec(self, *, storage: str = "") -> ScheduleSpec:
        """The schedule asked for; keep rules PVE would refuse raise ValidationError."""
        data = self.cleaned_data
        return ScheduleSpec(
            schedule=data["schedule"],
            mode=data["mode"],
            storage=storage,
            enabled=data["enabled"],
            keep=keep_options(**{name: data[name] for name in KEEP_FIELDS}),
        )
