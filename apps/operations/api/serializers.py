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


class StepLogSerializer(serializers.ModelSerializer):
    log = serializers.SerializerMethodField()

    class Meta:
        model = Step
        fields = ["position", "name", "state", "upid", "exitstatus", "log"]
        read_only_fields = fields

    def get_log(self, step: Step) -> list[str]:
        return step.task_log.splitlines()


class OperationLogSerializer(serializers.ModelSerializer):
    steps = StepLogSerializer(many=True, read_only=True)

    class Meta:
        model = Operation
        fields = ["id", "state", "steps"]
        read_only_fields = fields
