"""Template helpers of the portal pages: tags in PVE's colours, safe Markdown, usage bars."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core.markdown import render_markdown
from pvecore.tags import split_tags, tag_color

register = template.Library()


@register.filter
def guest_tags(tags: str) -> list[dict[str, str]]:
    """A guest's `tags` option as [{name, background, color}], coloured as PVE's web UI does."""
    badges = []
    for tag in split_tags(tags or ""):
        background, color = tag_color(tag)
        badges.append({"name": tag, "background": background, "color": color})
    return badges


@register.filter
def markdown(text: str) -> SafeString:
    """User-written Markdown as sanitized HTML (apps/core/markdown.py)."""
    return mark_safe(render_markdown(text or ""))  # noqa: S308 - sanitized by nh3


@register.filter
def percent_of(used: int, limit: int) -> int:
    """`used` as a whole percentage of `limit`, at most 100 (for a bar's width)."""
    if not limit:
        return 100 if used else 0
    return min(100, round(used * 100 / limit))


GUEST_STATUS_CLASSES = {
    "running": "text-bg-success",
    "stopped": "text-bg-secondary",
    "paused": "text-bg-warning",
    "suspended": "text-bg-warning",
    "creating": "text-bg-info",
    "error": "text-bg-danger",
    "destroyed": "text-bg-dark",
}
OPERATION_STATE_CLASSES = {
    "pending": "text-bg-secondary",
    "running": "text-bg-primary",
    "succeeded": "text-bg-success",
    "failed": "text-bg-danger",
    "cancelled": "text-bg-warning",
    "done": "text-bg-success",  # a step's
}
GUEST_STATUS_LABELS = {
    "running": _("running"),
    "stopped": _("stopped"),
    "paused": _("paused"),
    "suspended": _("suspended"),
    "creating": _("creating"),
    "error": _("error"),
    "destroyed": _("destroyed"),
}


@register.filter
def status_class(status: str) -> str:
    """A guest status's badge colour (static/portal/live.js keeps the same map)."""
    return GUEST_STATUS_CLASSES.get(status, "text-bg-light border")


@register.filter
def status_label(status: str) -> str:
    """A guest status as the page says it (PVE's word, translated)."""
    return str(GUEST_STATUS_LABELS.get(status, status or _("unknown")))


@register.filter
def operation_class(state: str) -> str:
    return OPERATION_STATE_CLASSES.get(state, "text-bg-light border")


OPERATION_LABELS = {
    "guest.create": _("Create"),
    "guest.delete": _("Delete"),
    "guest.update": _("Change settings"),
    "guest.resize": _("Resize"),
    "guest.reinstall": _("Reinstall"),
    "guest.clone": _("Copy"),
    "guest.start": _("Start"),
    "guest.stop": _("Stop"),
    "guest.shutdown": _("Shut down"),
    "guest.reboot": _("Reboot"),
    "guest.reset": _("Reset"),
    "guest.suspend": _("Suspend"),
    "guest.resume": _("Resume"),
    "guest.snapshot": _("Take snapshot"),
    "guest.rollback": _("Roll back to snapshot"),
    "guest.snapshot_delete": _("Delete snapshot"),
    "guest.backup": _("Back up"),
    "guest.restore": _("Restore from backup"),
    "backup.update": _("Change backup"),
    "backup.delete": _("Delete backup"),
}
POWER_LABELS = {
    "start": _("Start"),
    "stop": _("Stop"),
    "shutdown": _("Shut down"),
    "reboot": _("Reboot"),
    "reset": _("Reset"),
    "suspend": _("Suspend"),
    "resume": _("Resume"),
}


@register.filter
def operation_label(kind: str) -> str:
    """An operation's kind in words (unknown kinds as they are)."""
    return str(OPERATION_LABELS.get(kind, kind))


@register.filter
def power_label(action: str) -> str:
    return str(POWER_LABELS.get(action, action))


@register.filter
def plan_sizes(plan) -> str:
    """A plan's (or guest's) sizes in words, numbers in the active language's format."""
    return gettext("%(cores)s vCPU, %(memory)s MiB, %(disk)s GiB") % {
        "cores": intcomma(plan.cores),
        "memory": intcomma(plan.memory_mb),
        "disk": intcomma(plan.disk_gb),
    }
