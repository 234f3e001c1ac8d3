from rest_framework import serializers

from apps.operations.models import Operation, Step


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = ["position", "name", "state", "upid", "exitstatus", "started_at", "finished_at"]
        read_only_fields = fields


class OperationSerializer(serializers.ModelSerializer):
    steps = StepSerializer(many=True, read_only=True)
    guest = serializers.IntegerField(source="guest.vmid", default=None)

    class Meta:
        model = Operation
        fields = [
            "id",
            "kind",
            "state",
            "target",
            "guest",
            "actor",
            "error",
            "cancel_requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "steps",
        ]
        read_only_fields = fields
