"""REST API for backups: a guest's backups and on-demand backups; every backup of the tenant
(those of deleted guests too), notes and protection, delete, restore to a new guest or over
its own; backup schedules. Changes answer 202 with the operation; 409 over the quota."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import Principal, actor_of
from apps.backups import selectors, services
from apps.backups.api.serializers import (
    BackupCreateSerializer,
    BackupRestoreSerializer,
    BackupScheduleSerializer,
    BackupScheduleWriteSerializer,
    BackupSerializer,
    BackupUpdateSerializer,
)
from apps.backups.models import Backup
from apps.guests import selectors as guest_selectors
from apps.operations.api.serializers import OperationSerializer
from apps.operations.api.submit import IDEMPOTENCY_PARAMETER, submit
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.selectors import tenant_get


class GuestBackupListApi(APIView):
    @extend_schema(responses={200: BackupSerializer(many=True)})
    def get(self, request: Request, vmid: int) -> Response:
        """The guest's backups, newest first, as last mirrored from PVE."""
        guest = guest_selectors.guest_get(actor=actor_of(request), vmid=vmid)
        backups = Backup.objects.filter(guest=guest, vanished_at__isnull=True)
        return Response(BackupSerializer(backups.select_related("tenant"), many=True).data)

    @extend_schema(
        request=BackupCreateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, vmid: int) -> Response:
        """Back the guest up now (vzdump, zstd)."""
        actor = actor_of(request)
        guest = guest_selectors.guest_get(actor=actor, vmid=vmid)
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


class BackupListApi(APIView):
    @extend_schema(responses={200: BackupSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Every backup the caller may see, those of deleted guests included (until they are
        pruned or deleted); `?vmid=` narrows to one VMID."""
        backups = selectors.backups_visible(actor=actor_of(request))
        if vmid := request.query_params.get("vmid"):
            backups = backups.filter(vmid=int(vmid)) if vmid.isdigit() else backups.none()
        return Response(BackupSerializer(backups, many=True).data)


class BackupDetailApi(APIView):
    @extend_schema(responses={200: BackupSerializer})
    def get(self, request: Request, backup_id: int) -> Response:
        backup = selectors.backup_get(actor=actor_of(request), backup_id=backup_id)
        return Response(BackupSerializer(backup).data)

    @extend_schema(
        request=BackupUpdateSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def patch(self, request: Request, backup_id: int) -> Response:
        """Change the notes or the protection (a protected backup is never pruned)."""
        actor = actor_of(request)
        backup = selectors.backup_get(actor=actor, backup_id=backup_id)
        data = BackupUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return submit(
            request,
            actor,
            lambda key: services.backup_update(
                backup=backup, actor=actor, idempotency_key=key, **data.validated_data
            ),
        )

    @extend_schema(responses={202: OperationSerializer}, parameters=[IDEMPOTENCY_PARAMETER])
    def delete(self, request: Request, backup_id: int) -> Response:
        """Delete the backup from its storage (refused while protected)."""
        actor = actor_of(request)
        backup = selectors.backup_get(actor=actor, backup_id=backup_id)
        return submit(
            request,
            actor,
            lambda key: services.backup_delete(backup=backup, actor=actor, idempotency_key=key),
        )


class BackupRestoreApi(APIView):
    @extend_schema(
        request=BackupRestoreSerializer,
        responses={202: OperationSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request: Request, backup_id: int) -> Response:
        """Restore into a new guest (quota-checked) or over the backup's own guest (typed
        confirmation)."""
        actor = actor_of(request)
        backup = selectors.backup_get(actor=actor, backup_id=backup_id)
        data = BackupRestoreSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values["target"] == "same":
            if backup.guest is None:
                raise ApiValidationError({"target": ["the backup's guest no longer exists"]})
            guest = guest_selectors.guest_get(actor=actor, vmid=backup.vmid)
            return submit(
                request,
                actor,
                lambda key: services.backup_restore_over(
                    backup=backup,
                    guest=guest,
                    actor=actor,
                    confirm=values["confirm"],
                    idempotency_key=key,
                ),
            )
        plan = None
        if values["plan"]:
            plan = Plan.objects.filter(slug=values["plan"], active=True).first()
            if plan is None:
                raise ApiValidationError({"plan": [f"no plan '{values['plan']}' on offer"]})
        return submit(
            request,
            actor,
            lambda key: services.backup_restore_new(
                backup=backup, actor=actor, name=values["name"], plan=plan, idempotency_key=key
            ),
        )


def _schedule_tenant(actor: Principal, slug: str) -> Tenant:
    """A tenant's user schedules for their tenant; an operator names one."""
    user = getattr(actor, "user", actor)
    if user.tenant_id is not None and not slug:
        return user.tenant
    if not slug:
        raise Http404("name the tenant")
    return tenant_get(actor=actor, slug=slug)


def _api_error(error: ValidationError) -> ApiValidationError:
    return ApiValidationError(
        error.message_dict if hasattr(error, "error_dict") else error.messages
    )


def _spec(values: dict) -> services.ScheduleSpec:
    return services.ScheduleSpec(
        schedule=values["schedule"],
        mode=values["mode"],
        storage=values["storage"],
        enabled=values["enabled"],
        keep=services.keep_options(
            **{name: values[name] for name in values if name.startswith("keep_")}
        ),
    )


class BackupScheduleListApi(APIView):
    @extend_schema(responses={200: BackupScheduleSerializer(many=True)})
    def get(self, request: Request) -> Response:
        schedules = selectors.schedules_visible(actor=actor_of(request))
        return Response(BackupScheduleSerializer(schedules, many=True).data)

    @extend_schema(request=BackupScheduleWriteSerializer, responses={201: BackupScheduleSerializer})
    def post(self, request: Request) -> Response:
        """A schedule for one guest (`vmid`) or every guest of the tenant; its runs act as the
        caller and prune by the keep rules after each successful backup."""
        actor = actor_of(request)
        data = BackupScheduleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        tenant = _schedule_tenant(actor, values["tenant"])
        guest = (
            guest_selectors.guest_get(actor=actor, vmid=values["vmid"])
            if values["vmid"] is not None
            else None
        )
        try:
            schedule = services.schedule_create(
                tenant=tenant, actor=actor, spec=_spec(values), guest=guest
            )
        except ValidationError as error:
            raise _api_error(error) from error
        return Response(BackupScheduleSerializer(schedule).data, status=status.HTTP_201_CREATED)


class BackupScheduleDetailApi(APIView):
    @extend_schema(responses={200: BackupScheduleSerializer})
    def get(self, request: Request, schedule_id: int) -> Response:
        schedule = selectors.schedule_get(actor=actor_of(request), schedule_id=schedule_id)
        return Response(BackupScheduleSerializer(schedule).data)

    @extend_schema(request=BackupScheduleWriteSerializer, responses={200: BackupScheduleSerializer})
    def put(self, request: Request, schedule_id: int) -> Response:
        """Replace the schedule's time, storage, mode, keep rules and whether it is enabled."""
        actor = actor_of(request)
        schedule = selectors.schedule_get(actor=actor, schedule_id=schedule_id)
        data = BackupScheduleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            schedule = services.schedule_update(
                schedule=schedule, actor=actor, spec=_spec(data.validated_data)
            )
        except ValidationError as error:
            raise _api_error(error) from error
        return Response(BackupScheduleSerializer(schedule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, schedule_id: int) -> Response:
        actor = actor_of(request)
        schedule = selectors.schedule_get(actor=actor, schedule_id=schedule_id)
        try:
            services.schedule_delete(schedule=schedule, actor=actor)
        except ValidationError as error:
            raise _api_error(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)
