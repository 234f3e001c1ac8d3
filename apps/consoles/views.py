"""Console pages: noVNC for VMs, xterm.js for containers, each with a one-time ticket."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.consoles.services import IssuedTicket, console_ticket_issue
from apps.guests.models import Guest
from apps.guests.selectors import guest_get


def _issue(request: HttpRequest, vmid: int) -> tuple[Guest, IssuedTicket]:
    """The guest (404 unless the user may see it) and a ticket (403 without VM.Console)."""
    guest = guest_get(actor=request.user, vmid=vmid)
    if not request.session.session_key:
        request.session.save()
    issued = console_ticket_issue(
        actor=request.user, guest=guest, session_key=request.session.session_key
    )
    return guest, issued


@never_cache
@login_required
def guest_console(request: HttpRequest, vmid: int) -> HttpResponse:
    guest, issued = _issue(request, vmid)
    template = "consoles/vnc.html" if issued.ticket.protocol == "vnc" else "consoles/term.html"
    return render(
        request,
        template,
        {
            "guest": guest,
            "token": issued.token,
            "ticket_url": reverse("consoles:guest_console_ticket", args=[guest.vmid]),
        },
    )


@never_cache
@login_required
@require_POST
def guest_console_ticket(request: HttpRequest, vmid: int) -> JsonResponse:
    """A fresh ticket for the page's reconnect button (tickets are single-use)."""
    _guest, issued = _issue(request, vmid)
    return JsonResponse({"token": issued.token})
