from django.urls import path

from apps.backups import views

app_name = "backups"

urlpatterns = [
    path("backups/", views.backup_list, name="list"),
    path("backups/<int:backup_id>/restore/", views.backup_restore, name="restore"),
    path("backups/<int:backup_id>/notes/", views.backup_notes, name="notes"),
    path("backups/<int:backup_id>/protection/", views.backup_protect, name="protect"),
    path("backups/<int:backup_id>/delete/", views.backup_delete, name="delete"),
    path("guests/<int:vmid>/backups/", views.guest_backups, name="guest"),
    path("guests/<int:vmid>/backups/new/", views.backup_create, name="create"),
    path("guests/<int:vmid>/schedules/new/", views.schedule_create, name="schedule-create"),
    path(
        "guests/<int:vmid>/schedules/<int:schedule_id>/",
        views.schedule_update,
        name="schedule-update",
    ),
    path(
        "guests/<int:vmid>/schedules/<int:schedule_id>/toggle/",
        views.schedule_toggle,
        name="schedule-toggle",
    ),
    path(
        "guests/<int:vmid>/schedules/<int:schedule_id>/delete/",
        views.schedule_delete,
        name="schedule-delete",
    ),
]
