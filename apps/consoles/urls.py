from django.urls import path, register_converter

from apps.consoles import views


class SerialPortConverter:
    """PVE's serial ports of a VM: serial0 .. serial3."""

    regex = "serial[0-3]"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SerialPortConverter, "serial")

app_name = "consoles"

urlpatterns = [
    path("guests/<int:vmid>/console/", views.guest_console, name="guest_console"),
    path(
        "guests/<int:vmid>/console/ticket/",
        views.guest_console_ticket,
        name="guest_console_ticket",
    ),
    path(
        "guests/<int:vmid>/console/<serial:serial>/",
        views.guest_serial_console,
        name="guest_serial_console",
    ),
    path(
        "guests/<int:vmid>/console/<serial:serial>/ticket/",
        views.guest_serial_console_ticket,
        name="guest_serial_console_ticket",
    ),
    path("clusters/<str:cluster>/nodes/<str:node>/shell/", views.node_shell, name="node_shell"),
    path(
        "clusters/<str:cluster>/nodes/<str:node>/shell/ticket/",
        views.node_shell_ticket,
        name="node_shell_ticket",
    ),
]
