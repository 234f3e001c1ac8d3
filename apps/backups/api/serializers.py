from rest_framework import serializers

from apps.backups.models import Backup, BackupSchedule
from apps.backups.services import NOTES_MAX_LENGTH
from apps.backups.services.schedules import KEEP_FIELDS


class BackupSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    guest_exists = serializers.SerializerMethodField()

    class Meta:
        model = Backup
        fields = [
            "id",
            "volid",
            "vmid",
            "tenant",
            "guest_name",
            "guest_type",
            "guest_exists",
            "cores",
            "memory_mb",
            "disk_gb",
            "storage",
            "format",
            "size",
            "ctime",
            "notes",
            "protected",
        ]

    def get_guest_exists(self, backup: Backup) -> bool:
        return backup.guest_id is not None


class BackupCreateSerializer(serializers.Serializer):
    storage = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A storage of the guest's node that takes backups; by default the tenant's, "
        "else the plan's, else the first.",
    )
    mode = serializers.ChoiceField(
        choices=BackupSchedule.Mode.choices, required=False, default="snapshot"
    )
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTES_MAX_LENGTH
    )
    protected = serializers.BooleanField(
        required=False, default=False, help_text="Never pruned nor deleted until unprotected."
    )


class BackupUpdateSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, max_length=NOTES_MAX_LENGTH)
    protected = serializers.BooleanField(required=False)


class BackupRestoreSerializer(serializers.Serializer):
    target = serializers.ChoiceField(
        choices=["new", "same"],
        help_text="`new`: a new guest (new VMID, counted in the quota); `same`: over the "
        "backup's own guest, which is stopped first and loses what it has now.",
    )
    name = serializers.CharField(
        required=False, default="", allow_blank=True, help_text="`new`: the new guest's name."
    )
    plan = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="`new`: the plan's slug (by default the backup's guest's plan).",
    )
    confirm = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        help_text="`same`: the guest's name, typed to confirm.",
    )


class BackupScheduleSerializer(serializers.ModelSerializer):
    tenant = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    vmid = serializers.SerializerMethodField()

    class Meta:
        model = BackupSchedule
        fields = [
            "id",
            "tenant",
            "vmid",
            "schedule",
            "storage",
            "mode",
            *KEEP_FIELDS,
            "enabled",
            "next_run_at",
            "last_run_at",
            "last_error",
        ]

    def get_vmid(self, schedule: BackupSchedule) -> int | None:
        return schedule.guest.vmid if schedule.guest_id else None


class BackupScheduleWriteSerializer(serializers.Serializer):
    tenant = serializers.CharField(
        required=False, default="", help_text="The tenant's slug (by default the caller's)."
    )
    vmid = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="None: every guest."
    )
    schedule = serializers.CharField(
        max_length=128, help_text="PVE calendar event: `02:30`, `mon..fri 22:00`, `*/6:00`."
    )
    storage = serializers.CharField(required=False, allow_blank=True, default="")
    mode = serializers.ChoiceField(
        choices=BackupSchedule.Mode.choices, required=False, default="snapshot"
    )
    keep_last = serializers.IntegerField(min_value=0, required=False, default=0)
    keep_hourly = serializers.IntegerField(min_value=0, required=False, default=0)
    keep_daily = serializers.IntegerField(min_value=0, required=False, default=0)
    keep_weekly = serializers.IntegerField(min_value=0, required=False, default=0)
    keep_monthly = serializers.IntegerField(min_value=0, required=False, default=0)
    keep_yearly = serializers.IntegerField(min_value=0, required=False, default=0)
    enabled = serializers.BooleanField(required=False, default=True)
