from django.urls import path

from apps.backoffice.views import activity, inventory, realms, tenants

app_name = "backoffice"

urlpatterns = [
    path("operator/", inventory.dashboard_page, name="dashboard"),
    path("operator/tree/", inventory.tree_page, name="tree"),
    path(
        "operator/tree/clusters/<slug:cluster>/nodes/<str:node>/",
        inventory.node_branch,
        name="node-branch",
    ),
    path(
        "operator/tree/clusters/<slug:cluster>/types/<slug:guest_type>/",
        inventory.type_branch,
        name="type-branch",
    ),
    path("operator/tree/pools/<path:name>/", inventory.pool_branch, name="pool-branch"),
    path("operator/search/", inventory.search_page, name="search"),
    path(
        "operator/clusters/<slug:cluster>/storages/<str:storage_name>/",
        inventory.storage_page,
        name="storage",
    ),
    path("operator/tenants/", tenants.tenant_list, name="tenants"),
    path(
        "operator/tenants/<str:slug>/suspend/", tenants.tenant_suspend_view, name="tenant-suspend"
    ),
    path(
        "operator/tenants/<str:slug>/unsuspend/",
        tenants.tenant_unsuspend_view,
        name="tenant-unsuspend",
    ),
    path("operator/plans/", tenants.plan_list, name="plans"),
    path("operator/templates/", tenants.catalogue, name="catalogue"),
    path("operator/realms/", realms.realm_list, name="realms"),
    path("operator/realms/<str:name>/test/", realms.realm_test, name="realm-test"),
    path("operator/realms/<str:name>/sync/", realms.realm_sync, name="realm-sync"),
    path("operator/realms/<str:name>/dry-run/", realms.realm_dry_run, name="realm-dry-run"),
    path("operator/operations/", activity.operation_list, name="operations"),
    path(
        "operator/operations/<uuid:operation_id>/cancel/",
        activity.operation_cancel_view,
        name="operation-cancel",
    ),
    path(
        "operator/operations/<uuid:operation_id>/retry/",
        activity.operation_retry_view,
        name="operation-retry",
    ),
    path("operator/audit/", activity.audit_log, name="audit"),
]
