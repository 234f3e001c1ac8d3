from rest_framework import serializers

from apps.guests.models import Guest


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
    action = serializers.ChoiceField(
        choices=["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"]
    )
