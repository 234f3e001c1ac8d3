"""Links to consoles from other apps' pages, shown only to whoever may open them."""

from django import template
from django.urls import reverse

from apps.clusters.models import Node
from apps.consoles.services import node_shell_allowed

register = template.Library()


@register.simple_tag(takes_context=True)
def node_shell_url(context: template.Context, node: Node | None) -> str:
    """The node's shell page, or '' when the signed-in user may not open it."""
    request = context.get("request")
    if node is None or request is None or not node_shell_allowed(actor=request.user, node=node):
        return ""
    return reverse("consoles:node_shell", args=[node.cluster.name, node.name])
