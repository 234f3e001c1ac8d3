"""The REST API, version 1, and its OpenAPI schema."""

from django.urls import path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from apps.backups.api import views as backup_views
from apps.billing.api import views as billing_views
from apps.clusters.api import views as cluster_views
from apps.guests.api import snapshots as snapshot_views
from apps.guests.api import templates as template_views
from apps.guests.api import views as guest_views
from apps.operations.api import views as operation_views
from apps.tenancy.api import views as tenancy_views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline ones.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("v1/guests/", guest_views.GuestListApi.as_view(), name="guest-list"),
    path("v1/guests/<int:vmid>/", guest_views.GuestDetailApi.as_view(), name="guest-detail"),
    path(
        "v1/guests/<int:vmid>/status/<str:action>/",
        guest_views.GuestPowerApi.as_view(),
        name="guest-power",
    ),
    path(
        "v1/guests/bulk/status/<str:action>/",
        guest_views.GuestBulkPowerApi.as_view(),
        name="guest-bulk-power",
    ),
    path("v1/guests/<int:vmid>/resize/", guest_views.GuestResizeApi.as_view(), name="guest-resize"),
    path("v1/guests/<int:vmid>/clone/", guest_views.GuestCloneApi.as_view(), name="guest-clone"),
    path(
        "v1/guests/<int:vmid>/reinstall/",
        guest_views.GuestReinstallApi.as_view(),
        name="guest-reinstall",
    ),
    path(
        "v1/guests/<int:vmid>/snapshots/",
        snapshot_views.SnapshotListApi.as_view(),
        name="guest-snapshot-list",
    ),
    path(
        "v1/guests/<int:vmid>/snapshots/<str:name>/",
        snapshot_views.SnapshotDetailApi.as_view(),
        name="guest-snapshot-detail",
    ),
    path(
        "v1/guests/<int:vmid>/snapshots/<str:name>/rollback/",
        snapshot_views.SnapshotRollbackApi.as_view(),
        name="guest-snapshot-rollback",
    ),
    path(
        "v1/guests/<int:vmid>/backups/",
        backup_views.GuestBackupListApi.as_view(),
        name="guest-backup-list",
    ),
    path("v1/backups/", backup_views.BackupListApi.as_view(), name="backup-list"),
    path(
        "v1/backups/<int:backup_id>/", backup_views.BackupDetailApi.as_view(), name="backup-detail"
    ),
    path(
        "v1/backups/<int:backup_id>/restore/",
        backup_views.BackupRestoreApi.as_view(),
        name="backup-restore",
    ),
    path(
        "v1/backup-schedules/",
        backup_views.BackupScheduleListApi.as_view(),
        name="backup-schedule-list",
    ),
    path(
        "v1/backup-schedules/<int:schedule_id>/",
        backup_views.BackupScheduleDetailApi.as_view(),
        name="backup-schedule-detail",
    ),
    # Documented once, under v1/usage/ (two paths, one operation id otherwise).
    path("v1/usage", billing_views.UsageApi.as_view(schema=None), name="usage-bare"),
    path("v1/usage/", billing_views.UsageApi.as_view(), name="usage"),
    path("v1/templates/", template_views.TemplateListApi.as_view(), name="template-list"),
    path("v1/images/", template_views.ImageListApi.as_view(), name="image-list"),
    path("v1/plans/", tenancy_views.PlanListApi.as_view(), name="plan-list"),
    path("v1/tenants/", tenancy_views.TenantListApi.as_view(), name="tenant-list"),
    path(
        "v1/tenants/<str:slug>/quota/", tenancy_views.TenantQuotaApi.as_view(), name="tenant-quota"
    ),
    path("v1/clusters/", cluster_views.ClusterListApi.as_view(), name="cluster-list"),
    path(
        "v1/clusters/<slug:name>/", cluster_views.ClusterDetailApi.as_view(), name="cluster-detail"
    ),
    path(
        "v1/clusters/<slug:name>/sync/", cluster_views.ClusterSyncApi.as_view(), name="cluster-sync"
    ),
    path(
        "v1/clusters/<slug:name>/test/",
        cluster_views.ClusterConnectionTestApi.as_view(),
        name="cluster-test",
    ),
    path("v1/clusters/<slug:name>/nodes/", cluster_views.NodeListApi.as_view(), name="node-list"),
    path(
        "v1/clusters/<slug:name>/nodes/<str:node>/",
        cluster_views.NodeDetailApi.as_view(),
        name="node-detail",
    ),
    path(
        "v1/clusters/<slug:name>/nodes/<str:node>/maintenance/",
        cluster_views.NodeMaintenanceApi.as_view(),
        name="node-maintenance",
    ),
    path("v1/operations/", operation_views.OperationListApi.as_view(), name="operation-list"),
    path(
        "v1/operations/<uuid:operation_id>/",
        operation_views.OperationDetailApi.as_view(),
        name="operation-detail",
    ),
    path(
        "v1/operations/<uuid:operation_id>/log/",
        operation_views.OperationLogApi.as_view(),
        name="operation-log",
    ),
    path(
        "v1/operations/<uuid:operation_id>/cancel/",
        operation_views.OperationCancelApi.as_view(),
        name="operation-cancel",
    ),
]
