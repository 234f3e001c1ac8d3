"""REST API for a guest's snapshots: the tree as PVE has it, create, rollback, delete (202 with
the operation)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.guests import selectors
from apps.guests.services import snapshots as services
from apps.operations.api.serializers import OperationSerializer
from apps.operations.api.submit import IDEMPOTENCY_PARAMETER, submit
from apps.proxmox.errors import ProxmoxError


class SnapshotCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    vmstate = serializers.BooleanField(
        required=False, default=False, help_text="VMs only: save the RAM of a running VM too."
    )


class SnapshotRollbackSerializer(serializers.Serializer):
    start = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Start the guest after the rollback (a snapshot with RAM state resumes it "
        "anyway).",
    )


class SnapshotNodeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    parent = serializers.CharField()
    vmstate = serializers.BooleanField()
    created_at = serializers.DateTimeField(allow_null=True)
    children = serializers.SerializerMethodField()

    def get_children(self, node) -> list[dict]:
        return SnapshotNodeSerializer(node.children, many=True).data


class SnapshotTreeSerializer(serializers.Serializer):
    snapshots = SnapshotNodeSerializer(source="roots", many=True)
    current_parent = serializers.CharField(
        help_text="The snapshot the guest's present state descends from ('' if none)."
    )
    running = serializers.BooleanField()
    count = serializers.IntegerField()
    limit = serializers.IntegerField(
        allow_null=True, help_text="Snapshots per guest its plan allows (null: no plan)."
    )


class SnapshotListApi(APIView):
    @extend_schema(responses={200: SnapshotTreeSerializer})
    def get(self, request: Request, vmid: int) -> Response:
        """The guest's snapshots as a tree (children under their parent), read from PVE."""
        guest = selectors.guest_get(actor=actor_of(request), vmid=vmid)
        try:
            tree = services.snapshot_tree(guest=guest)
        except ProxmoxError as error:
            return Response(
                {"detail": f"the guest's cluster did not answer: {error.message}"},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(SnapshotTreeSerializer(tree).data)

    @extend_schema(
        request=SnapshotCreateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int) -> Response:
        """Take a snapshot (`vmstate`: with a running VM's RAM); 409 over the tenant's quota."""
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        data = SnapshotCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return submit(
            request,
            actor,
            lambda key: services.snapshot_create(
                guest=guest, actor=actor, idempotency_key=key, **data.validated_data
            ),
        )


class SnapshotDetailApi(APIView):
    @extend_schema(responses={202: OperationSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    def delete(self, request: Request, vmid: int, name: str) -> Response:
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        services.snapshot_get(guest=guest, name=name)
        return submit(
            request,
            actor,
            lambda key: services.snapshot_delete(
                guest=guest, actor=actor, name=name, idempotency_key=key
            ),
        )


class SnapshotRollbackApi(APIView):
    @extend_schema(
        request=SnapshotRollbackSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int, name: str) -> Response:
        """Return the guest to the snapshot; what changed since is lost."""
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        services.snapshot_get(guest=guest, name=name)
        data = SnapshotRollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return submit(
            request,
            actor,
            lambda key: services.snapshot_rollback(
                guest=guest, actor=actor, name=name, idempotency_key=key, **data.validated_data
            ),
        )
