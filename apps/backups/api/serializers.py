from rest_framework import serializers

from apps.backups.models import Backup
from apps.backups.services import MODES, NOTES_MAX_LENGTH


class BackupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Backup
        fields = ["volid", "vmid", "storage", "format", "size", "ctime", "notes", "protected"]


class BackupCreateSerializer(serializers.Serializer):
    storage = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A storage of the guest's node that takes backups; by default the first.",
    )
    mode = serializers.ChoiceField(choices=MODES, required=False, default="snapshot")
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTES_MAX_LENGTH
    )
    protected = serializers.BooleanField(
        required=False, default=False, help_text="Never pruned nor deleted until unprotected."
    )
