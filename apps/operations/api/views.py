"""REST API for operations: what the actor may see, with steps and UPIDs."""

from rest_framework import generics

from apps.access.engine import actor_of
from apps.operations import selectors
from apps.operations.api.serializers import OperationSerializer


class OperationListApi(generics.ListAPIView):
    serializer_class = OperationSerializer
    filterset_fields = ["state", "kind"]

    def get_queryset(self):
        return selectors.operation_list(actor=actor_of(self.request))


class OperationDetailApi(generics.RetrieveAPIView):
    serializer_class = OperationSerializer

    def get_object(self):
        return selectors.operation_get(
            actor=actor_of(self.request), operation_id=self.kwargs["operation_id"]
        )
