from rest_framework import serializers

from apps.tenancy.models import Plan, Tenant


class PlanSerializer(serializers.ModelSerializer):
    clusters = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Plan
        fields = [
            "slug",
            "name",
            "cores",
            "memory_mb",
            "disk_gb",
            "snapshots",
            "backups",
            "clusters",
            "templates",
        ]
        read_only_fields = fields


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["slug", "name", "status", "tfa_required", "created_at"]
        read_only_fields = fields


class UsageSerializer(serializers.Serializer):
    guests = serializers.IntegerField()
    vcpus = serializers.IntegerField()
    memory_mb = serializers.IntegerField()
    disk_gb = serializers.IntegerField()
    snapshots = serializers.IntegerField()
    backup_gb = serializers.IntegerField()


class QuotaReportSerializer(serializers.Serializer):
    limits = UsageSerializer()
    used = UsageSerializer()
