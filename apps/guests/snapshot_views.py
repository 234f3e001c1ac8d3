"""The guest page's Snapshots tab: the tree as PVE has it (children under their parent, the
guest's present state marked), take one (with the RAM of a running VM), roll back, delete.
The services decide; refusals (the plan's limit, the quota, PVE's locks) show in the panel."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.access.engine import has_privileges
from apps.guests import selectors
from apps.guests.forms import SERVICE_REFUSALS, SnapshotForm, error_text, refusal_on_form
from apps.guests.models import Guest
from apps.guests.services import snapshots
from apps.guests.services.snapshots import SnapshotNode, SnapshotTree
from apps.guests.tabs import back_to_tab, render_tab
from apps.guests.views import guest_read_only_reason
from apps.proxmox.errors import ProxmoxError


@dataclass(frozen=True)
class SnapshotRow:
    snapshot: SnapshotNode | None  # None: the guest as it is now
    depth: int


def snapshot_rows(tree: SnapshotTree) -> list[SnapshotRow]:
    """The tree in reading order, each row with its depth; "now" under its parent snapshot."""
    rows: list[SnapshotRow] = []

    def visit(node: SnapshotNode, depth: int) -> None:
        rows.append(SnapshotRow(node, depth))
        for child in node.children:
            visit(child, depth + 1)
        if node.name == tree.current_parent:
            rows.append(SnapshotRow(None, depth + 1))

    for root in tree.roots:
        visit(root, 0)
    if not tree.current_parent:
        rows.append(SnapshotRow(None, 0))
    return rows


def _panel(
    request: HttpRequest,
    guest: Guest,
    *,
    form: SnapshotForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    actor = request.user
    tree, problem = None, ""
    try:
        tree = snapshots.snapshot_tree(guest=guest)
    except ProxmoxError as error:
        problem = _("The guest's cluster did not answer: %(reason)s") % {"reason": error.message}
        status = 503 if status == 200 else status
    read_only = guest_read_only_reason(actor, guest)
    running = tree.running if tree is not None else guest.status == "running"
    return render_tab(
        request,
        guest=guest,
        tab="snapshots",
        panel="guests/_snapshots.html",
        context={
            "tree": tree,
            "rows": snapshot_rows(tree) if tree is not None else [],
            "problem": problem,
            "refusal": refusal,
            "read_only_reason": read_only,
            "may_take": not read_only and has_privileges(actor, guest.acl_path, "VM.Snapshot"),
            "may_rollback": not read_only
            and has_privileges(
                actor, guest.acl_path, ["VM.Snapshot", "VM.Snapshot.Rollback"], any_=True
            ),
            "ram_offered": guest.type == Guest.Type.QEMU and running,
            "form": form or SnapshotForm(),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def guest_snapshots(request: HttpRequest, vmid: int) -> HttpResponse:
    return _panel(request, selectors.guest_get(actor=request.user, vmid=vmid))


@login_required
@require_POST
def snapshot_create(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    form = SnapshotForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            snapshots.snapshot_create(guest=guest, actor=request.user, **form.cleaned_data)
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(
                request, _("Taking snapshot %(name)s.") % {"name": form.cleaned_data["name"]}
            )
            return back_to_tab(guest, "snapshots")
    return _panel(request, guest, form=form, status=status)


@login_required
@require_POST
def snapshot_rollback(request: HttpRequest, vmid: int, name: str) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    snapshots.snapshot_get(guest=guest, name=name)
    try:
        snapshots.snapshot_rollback(
            guest=guest, actor=request.user, name=name, start=bool(request.POST.get("start"))
        )
    except (ValidationError, PermissionDenied) as error:
        return _panel(request, guest, refusal=error_text(error), status=400)
    messages.success(request, _("Rolling back to %(name)s.") % {"name": name})
    return back_to_tab(guest, "snapshots")


@login_required
@require_POST
def snapshot_delete(request: HttpRequest, vmid: int, name: str) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    snapshots.snapshot_get(guest=guest, name=name)
    try:
        snapshots.snapshot_delete(guest=guest, actor=request.user, name=name)
    except (ValidationError, PermissionDenied) as error:
        return _panel(request, guest, refusal=error_text(error), status=400)
    messages.success(request, _("Deleting snapshot %(name)s.") % {"name": name})
    return back_to_tab(guest, "snapshots")
