from django.urls import path

from apps.consoles import views

app_name = "consoles"

urlpatterns = [
    path("guests/<int:vmid>/console/", views.guest_console, name="guest_console"),
    path(
        "guests/<int:vmid>/console/ticket/",
        views.guest_console_ticket,
        name="guest_console_ticket",
    ),
]
