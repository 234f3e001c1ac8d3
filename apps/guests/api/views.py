"""REST API for guests: list, create, detail, delete, power actions (202 with the operation)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import Principal, actor_of
from apps.guests import selectors, services
from apps.guests.api.serializers import (
    BulkPowerResultSerializer,
    BulkPowerSerializer,
    GuestCreateSerializer,
    GuestResizeSerializer,
    GuestSerializer,
    PowerActionSerializer,
)
from apps.operations.api.serializers import OperationSerializer
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.services import QuotaExceeded


def _accepted(operation: Operation) -> Response:
    return Response(OperationSerializer(operation).data, status=status.HTTP_202_ACCEPTED)


def _tenant_for(actor: Principal, slug: str | None) -> Tenant:
    """A tenant's user acts for their tenant; an operator names one."""
    user = getattr(actor, "user", actor)
    if user.tenant_id is not None:
        if slug not in (None, user.tenant.slug):
            raise Http404("no such tenant")
        return user.tenant
    if slug is None:
        raise ApiValidationError({"tenant": ["name the tenant the guest belongs to"]})
    return get_object_or_404(Tenant, slug=slug)


class GuestListApi(generics.ListCreateAPIView):
    serializer_class = GuestSerializer
    filterset_fields = ["status", "type", "node", "cluster__name"]
    ordering_fields = ["vmid", "name", "status"]

    def get_queryset(self):
        return selectors.guest_list(actor=actor_of(self.request))

    @extend_schema(request=GuestCreateSerializer, responses={202: OperationSerializer})
    def post(self, request: Request) -> Response:
        data = GuestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = actor_of(request)
        values = data.validated_data
        tenant = _tenant_for(actor, values.get("tenant"))
        plan = get_object_or_404(Plan, slug=values["plan"])
        try:
            if "template" in values:
                operation = services.guest_create(
                    tenant=tenant,
                    plan=plan,
                    template_vmid=values["template"],
                    name=values["name"],
                    ssh_keys=values.get("ssh_keys", ""),
                    user=values.get("user", ""),
                    actor=actor,
                )
            else:
                operation = services.container_create(
                    tenant=tenant,
                    plan=plan,
                    ostemplate=values["ostemplate"],
                    name=values["name"],
                    ssh_keys=values.get("ssh_keys", ""),
                    password=values.get("password", ""),
                    actor=actor,
                )
        except QuotaExceeded as error:
            return Response(
                {"detail": str(error), "exceeded": error.exceeded}, status=status.HTTP_409_CONFLICT
            )
        except ValidationError as error:
            raise ApiValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from error
        return _accepted(operation)


class GuestDetailApi(generics.RetrieveDestroyAPIView):
    serializer_class = GuestSerializer

    def get_object(self):
        return selectors.guest_get(actor=actor_of(self.request), vmid=self.kwargs["vmid"])

    @extend_schema(responses={202: OperationSerializer})
    def delete(self, request: Request, vmid: int) -> Response:
        actor = actor_of(request)
        try:
            operation = services.guest_delete(guest=self.get_object(), actor=actor)
        except ValidationError as error:
            raise ApiValidationError(error.messages) from error
        return _accepted(operation)


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
        return _accepted(operation)


class GuestResizeApi(APIView):
    @extend_schema(request=GuestResizeSerializer, responses={202: OperationSerializer})
    def post(self, request: Request, vmid: int) -> Response:
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)  # 404 before anything else
        data = GuestResizeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = get_object_or_404(Plan, slug=data.validated_data["plan"])
        try:
            operation = services.guest_resize(guest=guest, plan=plan, actor=actor)
        except QuotaExceeded as error:
            return Response(
                {"detail": str(error), "exceeded": error.exceeded}, status=status.HTTP_409_CONFLICT
            )
        except ValidationError as error:
            raise ApiValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from error
        return _accepted(operation)


class GuestBulkPowerApi(APIView):
    """One power action on many guests: an operation each; per-guest refusals are listed."""

    @extend_schema(request=BulkPowerSerializer, responses={202: BulkPowerResultSerializer})
    def post(self, request: Request, action: str) -> Response:
        PowerActionSerializer(data={"action": action}).is_valid(raise_exception=True)
        data = BulkPowerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = actor_of(request)
        operations, refused = [], {}
        for vmid in data.validated_data["vmids"]:
            try:
                guest = selectors.guest_get(actor=actor, vmid=vmid)
                operations.append(services.guest_power(guest=guest, action=action, actor=actor))
            except Http404:
                refused[vmid] = "no such guest"
            except (ValidationError, PermissionDenied) as error:
                refused[vmid] = "; ".join(getattr(error, "messages", [str(error)]))
        return Response(
            {"operations": OperationSerializer(operations, many=True).data, "refused": refused},
            status=status.HTTP_202_ACCEPTED,
        )
