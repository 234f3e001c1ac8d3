from django.urls import path

from apps.guests import graph_views, manage_views, snapshot_views, views

app_name = "guests"

urlpatterns = [
    path("guests/", views.guest_list, name="list"),
    path("guests/new/", views.guest_create, name="create"),
    path("guests/bulk/", views.guest_bulk_power, name="bulk-power"),
    path("guests/<int:vmid>/", views.guest_detail, name="detail"),
    path("guests/<int:vmid>/live/", views.guest_live, name="live"),
    path("guests/<int:vmid>/power/<slug:action>/", views.guest_power, name="power"),
    path("guests/<int:vmid>/settings/", views.guest_settings, name="settings"),
    path("guests/<int:vmid>/delete/", views.guest_delete, name="delete"),
    path("guests/<int:vmid>/graphs/", graph_views.guest_graphs, name="graphs"),
    path("guests/<int:vmid>/manage/", manage_views.guest_manage, name="manage"),
    path("guests/<int:vmid>/resize/", manage_views.guest_resize, name="resize"),
    path("guests/<int:vmid>/reinstall/", manage_views.guest_reinstall, name="reinstall"),
    path("guests/<int:vmid>/copy/", manage_views.guest_copy, name="copy"),
    path("guests/<int:vmid>/snapshots/", snapshot_views.guest_snapshots, name="snapshots"),
    path(
        "guests/<int:vmid>/snapshots/new/",
        snapshot_views.snapshot_create,
        name="snapshot-create",
    ),
    path(
        "guests/<int:vmid>/snapshots/<str:name>/rollback/",
        snapshot_views.snapshot_rollback,
        name="snapshot-rollback",
    ),
    path(
        "guests/<int:vmid>/snapshots/<str:name>/delete/",
        snapshot_views.snapshot_delete,
        name="snapshot-delete",
    ),
]
