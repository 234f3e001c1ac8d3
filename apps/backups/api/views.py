"""REST API for a guest's backups: the list as last mirrored from PVE, and on-demand backups
(202 with the operation; 409 over the tenant's `backup_gb` quota)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.backups import services
from apps.backups.api.serializers import BackupCreateSerializer, BackupSerializer
from apps.guests import selectors
from apps.operations.api.serializers import OperationSerializer
from apps.operations.api.submit import IDEMPOTENCY_PARAMETER, submit


class BackupListApi(APIView):
    @extend_schema(responses={200: BackupSerializer(many=True)})
    def get(self, request: Request, vmid: int) -> Response:
        """The guest's backups, newest first."""
        guest = selectors.guest_get(actor=actor_of(request), vmid=vmid)
        return Response(BackupSerializer(services.backup_list(guest=guest), many=True).data)

    @extend_schema(
        request=BackupCreateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int) -> Response:
        """Back the guest up now (vzdump, zstd)."""
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        data = BackupCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["storage"] = values["storage"] or None
        return submit(
            request,
            actor,
            lambda key: services.backup_create(
                guest=guest, actor=actor, idempotency_key=key, **values
            ),
        )
