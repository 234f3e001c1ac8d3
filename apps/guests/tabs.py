"""The guest page's tabs (graphs, snapshots, backups, manage): each is a panel the page fetches
with htmx when the tab is first shown, so the guest page's own queries do not grow; without
JavaScript, or to show a form's errors, the same panel is a page of its own."""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.guests.models import Guest

TABS = {
    "overview": _("Overview"),
    "graphs": _("Graphs"),
    "snapshots": _("Snapshots"),
    "backups": _("Backups"),
    "manage": _("Manage"),
}


def render_tab(
    request: HttpRequest,
    *,
    guest: Guest,
    tab: str,
    panel: str,
    context: dict[str, object],
    status: int = 200,
) -> HttpResponse:
    """The panel alone for htmx, else the panel on a page with the guest's heading. A form
    posted without htmx comes back as the page, with its errors."""
    context = {**context, "guest": guest, "tab": tab, "tab_label": TABS[tab], "panel": panel}
    if request.headers.get("HX-Request") and request.method == "GET":
        return render(request, panel, context, status=status)
    return render(request, "guests/guest_tab_page.html", context, status=status)


def back_to_tab(guest: Guest, tab: str) -> HttpResponseRedirect:
    """After a change: the guest page with the tab open, following the operation it started."""
    return HttpResponseRedirect(f"{reverse('guests:detail', args=[guest.vmid])}?tab={tab}#tabs")
