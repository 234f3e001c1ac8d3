"""The guest page's Graphs tab: CPU, memory, network and disk I/O over a timeframe, from PVE's
RRD statistics, drawn as inline SVG."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.guests import selectors
from apps.guests.charts import guest_charts
from apps.guests.models import CREATING
from apps.guests.services.metrics import TIMEFRAMES, guest_metrics
from apps.guests.tabs import render_tab
from apps.proxmox.errors import ProxmoxError

TIMEFRAME_LABELS = {
    "hour": gettext_lazy("Hour"),
    "day": gettext_lazy("Day"),
    "week": gettext_lazy("Week"),
    "month": gettext_lazy("Month"),
    "year": gettext_lazy("Year"),
}


@never_cache
@login_required
@require_GET
def guest_graphs(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    timeframe = request.GET.get("timeframe", "hour")
    if timeframe not in TIMEFRAMES:
        timeframe = "hour"
    charts, problem, status = [], "", 200
    if not guest.node or guest.status in (CREATING, "destroyed") or guest.vanished_at:
        problem = _("This guest has no statistics yet.")
    else:
        try:
            charts = guest_charts(guest_metrics(guest=guest, timeframe=timeframe))
        except ProxmoxError as error:
            problem = _("The guest's cluster did not answer: %(reason)s") % {
                "reason": error.message
            }
            status = 503
    return render_tab(
        request,
        guest=guest,
        tab="graphs",
        panel="guests/_graphs.html",
        context={
            "charts": charts,
            "problem": problem,
            "timeframe": timeframe,
            "timeframes": TIMEFRAME_LABELS.items(),
        },
        status=status,
    )
