from rest_framework import serializers

from apps.clusters.models import Cluster, Node, Storage
from apps.clusters.selectors import ClusterHealth


class ClusterSerializer(serializers.ModelSerializer):
    """A cluster as operators see it; its API token never leaves the server."""

    api_addresses = serializers.ListField(child=serializers.CharField(), read_only=True)
    node_count = serializers.IntegerField(read_only=True)
    health = serializers.ChoiceField(choices=ClusterHealth.choices, read_only=True)

    class Meta:
        model = Cluster
        fields = [
            "name",
            "api_addresses",
            "pve_cluster_name",
            "pve_version",
            "last_synced_at",
            "last_error",
            "vmid_range_start",
            "vmid_range_end",
            "node_count",
            "health",
        ]
        read_only_fields = fields


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    pve_version = serializers.CharField(required=False)
    pve_cluster_name = serializers.CharField(required=False)
    node_count = serializers.IntegerField(required=False)
    error = serializers.CharField(required=False, help_text="PVE's reason, when not ok.")


class StorageSummarySerializer(serializers.ModelSerializer):
    content = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Storage
        fields = ["storage", "type", "content", "shared", "available", "used", "total"]
        read_only_fields = fields


class NodeSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name", read_only=True)
    storages = StorageSummarySerializer(source="present_storages", many=True, read_only=True)

    class Meta:
        model = Node
        fields = [
            "name",
            "cluster",
            "online",
            "maintenance",
            "cpu_usage",
            "cpu_count",
            "memory_used",
            "memory_total",
            "vanished_at",
            "storages",
        ]
        read_only_fields = fields


class NodeMaintenanceSerializer(serializers.Serializer):
    maintenance = serializers.BooleanField(
        help_text="true: placement skips the node; its guests keep running."
    )
