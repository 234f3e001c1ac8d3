"""REST API for operations: what the actor may see, with steps and UPIDs."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.operations import selectors, services
from apps.operations.api.serializers import OperationLogSerializer, OperationSerializer


class OperationListApi(generics.ListAPIView):
    serializer_class = OperationSerializer
    filterset_fields = ["state", "kind", "guest__vmid", "tenant__slug", "actor"]
    ordering_fields = ["created_at", "finished_at"]

    def get_queryset(self):
        return selectors.operation_list(actor=actor_of(self.request))


class OperationDetailApi(generics.RetrieveAPIView):
    serializer_class = OperationSerializer

    def get_object(self):
        return selectors.operation_get(
            actor=actor_of(self.request), operation_id=self.kwargs["operation_id"]
        )


class OperationLogApi(APIView):
    @extend_schema(responses=OperationLogSerializer)
    def get(self, request: Request, operation_id: str) -> Response:
        """Each step's PVE task log (complete once the step has ended)."""
        operation = selectors.operation_get(actor=actor_of(request), operation_id=operation_id)
        return Response(OperationLogSerializer(operation).data)


class OperationCancelApi(APIView):
    @extend_schema(request=None, responses={202: OperationSerializer})
    def post(self, request: Request, operation_id: str) -> Response:
        actor = actor_of(request)
        operation = selectors.operation_get(actor=actor, operation_id=operation_id)
        try:
            operation = services.operation_cancel(operation=operation, actor=actor)
        except ValidationError as error:
            raise ApiValidationError(error.messages) from error
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)
