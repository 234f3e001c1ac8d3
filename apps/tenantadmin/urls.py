from django.urls import path

from apps.tenantadmin import sharing_views, views

app_name = "tenantadmin"

urlpatterns = [
    path("tenant/users/", views.user_list, name="users"),
    path("tenant/users/invite/", views.user_invite, name="user-invite"),
    path("tenant/users/<str:userid>/disable/", views.user_disable, name="user-disable"),
    path("tenant/users/<str:userid>/enable/", views.user_enable, name="user-enable"),
    path("tenant/users/<str:userid>/remove/", views.user_remove, name="user-remove"),
    path("tenant/groups/", views.group_list, name="groups"),
    path("tenant/groups/new/", views.group_create, name="group-create"),
    path("tenant/groups/<str:name>/members/", views.group_members, name="group-members"),
    path("tenant/groups/<str:name>/remove/", views.group_remove, name="group-remove"),
    path("tenant/permissions/", views.permission_list, name="permissions"),
    path("tenant/permissions/grant/", views.permission_grant, name="permission-grant"),
    path(
        "tenant/permissions/<int:entry_id>/revoke/",
        views.permission_revoke,
        name="permission-revoke",
    ),
    path("tenant/audit/", views.audit_log, name="audit"),
    path("guests/<int:vmid>/sharing/", sharing_views.guest_sharing, name="sharing"),
    path("guests/<int:vmid>/sharing/grant/", sharing_views.guest_share, name="share"),
    path(
        "guests/<int:vmid>/sharing/<int:entry_id>/revoke/",
        sharing_views.guest_unshare,
        name="unshare",
    ),
]
