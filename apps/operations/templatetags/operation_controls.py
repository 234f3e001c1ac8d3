"""Which controls an operation's row offers to the user looking at it."""

from django import template

from apps.access.engine import Principal
from apps.operations.models import Operation
from apps.operations.selectors import operation_cancellable

register = template.Library()


@register.filter
def cancellable_by(operation: Operation, actor: Principal) -> bool:
    return operation_cancellable(operation=operation, actor=actor)
