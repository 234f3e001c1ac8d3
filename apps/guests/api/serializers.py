from rest_framework import serializers

from apps.guests.models import Guest
from apps.proxmox.guests import POWER_ACTIONS


class GuestSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")
    tenant = serializers.CharField(source="tenant.slug", default=None)

    class Meta:
        model = Guest
        fields = [
            "vmid",
            "name",
            "type",
            "status",
            "cluster",
            "node",
            "tenant",
            "pool",
            "tags",
            "lock",
            "last_seen_at",
            "vanished_at",
        ]
        read_only_fields = fields


class PowerActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(set().union(*POWER_ACTIONS.values())))


class GuestCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    plan = serializers.SlugField(help_text="The plan's slug.")
    template = serializers.IntegerField(
        min_value=100, required=False, help_text="A VM: the VMID of a template to clone."
    )
    ostemplate = serializers.CharField(
        required=False, help_text="A container: the volume id of a container template."
    )
    tenant = serializers.CharField(required=False, help_text="Operators only: the tenant's slug.")
    ssh_keys = serializers.CharField(required=False, allow_blank=True)
    user = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="VMs: the cloud-init user."
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Containers: the root password.",
    )

    def validate(self, data: dict) -> dict:
        if ("template" in data) == ("ostemplate" in data):
            raise serializers.ValidationError(
                "give either template (a VM) or ostemplate (a container)"
            )
        return data


class GuestResizeSerializer(serializers.Serializer):
    plan = serializers.SlugField(help_text="The slug of the plan to move to.")


class BulkPowerSerializer(serializers.Serializer):
    vmids = serializers.ListField(
        child=serializers.IntegerField(min_value=100), min_length=1, max_length=500
    )


class BulkPowerResultSerializer(serializers.Serializer):
    operations = serializers.ListField(child=serializers.DictField())
    refused = serializers.DictField(
        child=serializers.CharField(), help_text="VMID -> why no operation was made for it."
    )
