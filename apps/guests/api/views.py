"""REST API for guests: list, detail, power actions (202 with the operation)."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.guests import selectors, services
from apps.guests.api.serializers import GuestSerializer, PowerActionSerializer
from apps.operations.api.serializers import OperationSerializer


class GuestListApi(generics.ListAPIView):
    serializer_class = GuestSerializer
    filterset_fields = ["status", "type", "node", "cluster__name"]
    ordering_fields = ["vmid", "name", "status"]

    def get_queryset(self):
        return selectors.guest_list(actor=actor_of(self.request))


class GuestDetailApi(generics.RetrieveAPIView):
    serializer_class = GuestSerializer

    def get_object(self):
        return selectors.guest_get(actor=actor_of(self.request), vmid=self.kwargs["vmid"])


class GuestPowerApi(APIView):
    @extend_schema(request=None, responses={202: OperationSerializer})
    def post(self, request: Request, vmid: int, action: str) -> Response:
        PowerActionSerializer(data={"action": action}).is_valid(raise_exception=True)
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        try:
            operation = services.guest_power(guest=guest, action=action, actor=actor)
        except ValidationError as error:
            raise ApiValidationError(error.messages) from error
        return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)
