"""Console pages: noVNC for VMs, xterm.js for containers, VM serial ports and operators' node
shells, each with a one-time ticket, and the reconnect buttons' fresh tickets."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.clusters.models import Node
from apps.clusters.selectors import cluster_get, node_get
from apps.consoles.services import IssuedTicket, console_ticket_issue, guest_serial_ports
from apps.guests.models import Guest
from apps.guests.selectors import guest_get


def _session_key(request: HttpRequest) -> str:
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def _issue(request: HttpRequest, vmid: int, serial: str = "") -> tuple[Guest, IssuedTicket]:
    """The guest (404 unless the user may see it) and a ticket (403 without VM.Console)."""
    guest = guest_get(actor=request.user, vmid=vmid)
    if serial and guest.type != Guest.Type.QEMU:
        raise Http404("containers have no serial ports")
    issued = console_ticket_issue(
        actor=request.user, guest=guest, serial=serial, session_key=_session_key(request)
    )
    return guest, issued


def _operator_node(request: HttpRequest, cluster: str, node: str) -> Node:
    """The node, for operators only: anyone else gets the 404 of an unknown name."""
    return node_get(
        actor=request.user, cluster=cluster_get(actor=request.user, name=cluster), name=node
    )


@never_cache
@login_required
def guest_console(request: HttpRequest, vmid: int) -> HttpResponse:
    guest, issued = _issue(request, vmid)
    context = {
        "title": _("Console of %(name)s") % {"name": guest},
        "guest": guest,
        "token": issued.token,
        "ticket_url": reverse("consoles:guest_console_ticket", args=[guest.vmid]),
    }
    if issued.ticket.protocol == "vnc":
        context["serial_ports"] = guest_serial_ports(guest=guest)
        return render(request, "consoles/vnc.html", context)
    return render(request, "consoles/term.html", context)


@never_cache
@login_required
@require_POST
def guest_console_ticket(request: HttpRequest, vmid: int) -> JsonResponse:
    """A fresh ticket for the page's reconnect button (tickets are single-use)."""
    _guest, issued = _issue(request, vmid)
    return JsonResponse({"token": issued.token})


@never_cache
@login_required
def guest_serial_console(request: HttpRequest, vmid: int, serial: str) -> HttpResponse:
    guest, issued = _issue(request, vmid, serial)
    context = {
        "title": _("Serial console %(port)s of %(name)s") % {"port": serial, "name": guest},
        "guest": guest,
        "token": issued.token,
        "ticket_url": reverse("consoles:guest_serial_console_ticket", args=[guest.vmid, serial]),
    }
    return render(request, "consoles/term.html", context)


@never_cache
@login_required
@require_POST
def guest_serial_console_ticket(request: HttpRequest, vmid: int, serial: str) -> JsonResponse:
    _guest, issued = _issue(request, vmid, serial)
    return JsonResponse({"token": issued.token})


@never_cache
@login_required
def node_shell(request: HttpRequest, cluster: str, node: str) -> HttpResponse:
    found = _operator_node(request, cluster, node)
    issued = console_ticket_issue(actor=request.user, node=found, session_key=_session_key(request))
    context = {
        "title": _("Shell of node %(node)s (%(cluster)s)")
        % {"node": found.name, "cluster": found.cluster.name},
        "token": issued.token,
        "ticket_url": reverse("consoles:node_shell_ticket", args=[cluster, node]),
    }
    return render(request, "consoles/term.html", context)


@never_cache
@login_required
@require_POST
def node_shell_ticket(request: HttpRequest, cluster: str, node: str) -> JsonResponse:
    found = _operator_node(request, cluster, node)
    issued = console_ticket_issue(actor=request.user, node=found, session_key=_session_key(request))
    return JsonResponse({"token": issued.token})
