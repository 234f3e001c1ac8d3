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
    template = serializers.IntegerField(min_value=100, help_text="VMID of a template.")
    tenant = serializers.CharField(required=False, help_text="Operators only: the tenant's slug.")
    ssh_keys = serializers.CharField(required=False, allow_blank=True)
    user = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="The cloud-init user."
    )
