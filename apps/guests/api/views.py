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
    GuestCloneSerializer,
    GuestCreateSerializer,
    GuestReinstallSerializer,
    GuestResizeSerializer,
    GuestSerializer,
    GuestUpdateSerializer,
    PowerActionSerializer,
)
from apps.operations.api.serializers import OperationSerializer
from apps.operations.api.submit import IDEMPOTENCY_PARAMETER, submit
from apps.tenancy.models import Plan, Tenant


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
    filterset_fields = ["status", "type", "node", "cluster__name", "tenant__slug"]
    ordering_fields = ["vmid", "name", "status"]
    search_fields = ["name", "tags"]

    def get_queryset(self):
        return selectors.guest_list(actor=actor_of(self.request))

    @extend_schema(
        request=GuestCreateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request) -> Response:
        data = GuestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        actor = actor_of(request)
        values = data.validated_data
        tenant = _tenant_for(actor, values.get("tenant"))
        plan = get_object_or_404(Plan, slug=values["plan"])
        common = {
            "tenant": tenant,
            "plan": plan,
            "name": values["name"],
            "actor": actor,
            "node": values.get("node", ""),
        }
        if "template" in values:
            return submit(
                request,
                actor,
                lambda key: services.guest_create(
                    template_vmid=values["template"],
                    access=data.access(),
                    idempotency_key=key,
                    **common,
                ),
            )
        if "iso" in values:
            return submit(
                request,
                actor,
                lambda key: services.vm_create_from_iso(
                    iso=values["iso"], idempotency_key=key, **common
                ),
            )
        return submit(
            request,
            actor,
            lambda key: services.container_create(
                ostemplate=values["ostemplate"],
                access=data.access(),
                idempotency_key=key,
                **common,
            ),
        )


class GuestDetailApi(generics.RetrieveAPIView):
    serializer_class = GuestSerializer

    def get_object(self):
        return selectors.guest_get(actor=actor_of(self.request), vmid=self.kwargs["vmid"])

    @extend_schema(
        request=GuestUpdateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def patch(self, request: Request, vmid: int) -> Response:
        """Rename the guest, set its tags or its notes."""
        actor = actor_of(request)
        guest = self.get_object()
        data = GuestUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return submit(
            request,
            actor,
            lambda key: services.guest_update(
                guest=guest, actor=actor, idempotency_key=key, **data.validated_data
            ),
        )

    @extend_schema(responses={202: OperationSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    def delete(self, request: Request, vmid: int) -> Response:
        actor = actor_of(request)
        guest = self.get_object()
        return submit(
            request,
            actor,
            lambda key: services.guest_delete(guest=guest, actor=actor, idempotency_key=key),
        )


class GuestPowerApi(APIView):
    @extend_schema(
        request=None, responses={202: OperationSerializer}, parameters=[IDEMPOTENCY_PARAMETER]
    )
    def post(self, request: Request, vmid: int, action: str) -> Response:
        PowerActionSerializer(data={"action": action}).is_valid(raise_exception=True)
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        return submit(
            request,
            actor,
            lambda key: services.guest_power(
                guest=guest, action=action, actor=actor, idempotency_key=key
            ),
        )


class GuestResizeApi(APIView):
    @extend_schema(
        request=GuestResizeSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int) -> Response:
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)  # 404 before anything else
        data = GuestResizeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = get_object_or_404(Plan, slug=data.validated_data["plan"])
        return submit(
            request,
            actor,
            lambda key: services.guest_resize(
                guest=guest, plan=plan, actor=actor, idempotency_key=key
            ),
        )


class GuestReinstallApi(APIView):
    @extend_schema(
        request=GuestReinstallSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int) -> Response:
        """A fresh system from a template, same VMID; what was on the guest's disks is lost."""
        actor = actor_of(request)
        guest = selectors.guest_get(actor=actor, vmid=vmid)
        data = GuestReinstallSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        return submit(
            request,
            actor,
            lambda key: services.guest_reinstall(
                guest=guest,
                actor=actor,
                template_vmid=values.get("template"),
                ostemplate=values.get("ostemplate"),
                access=data.access(),
                idempotency_key=key,
            ),
        )


class GuestCloneApi(APIView):
    @extend_schema(
        request=GuestCloneSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int) -> Response:
        """A new guest of the same tenant with a full copy of this one's disks."""
        actor = actor_of(request)
        source = selectors.guest_get(actor=actor, vmid=vmid)
        data = GuestCloneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        plan = get_object_or_404(Plan, slug=values["plan"]) if "plan" in values else None
        return submit(
            request,
            actor,
            lambda key: services.guest_copy(
                source=source,
                name=values["name"],
                plan=plan,
                access=data.access(),
                actor=actor,
                idempotency_key=key,
            ),
        )


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
