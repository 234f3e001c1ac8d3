from django.urls import path

from apps.operations import views

app_name = "operations"

urlpatterns = [
    path("operations/", views.operation_panel, name="list"),
    path("operations/live/", views.operation_live, name="live"),
    path("operations/task-panel/", views.operation_task_panel, name="task_panel"),
    path("operations/<uuid:operation_id>/", views.operation_detail, name="detail"),
    path("operations/<uuid:operation_id>/cancel/", views.operation_cancel, name="cancel"),
]
