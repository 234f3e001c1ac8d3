"""Who may use the back-office: operators, by the rule the operators' cluster API applies (a
superuser who may audit `/`). To anyone else every back-office page is missing (404)."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from apps.access.engine import Principal, has_privileges
from apps.clusters.selectors import AUDIT_PRIVILEGE


def is_operator(actor: Principal) -> bool:
    owner = getattr(actor, "user", actor)
    return bool(
        owner.is_authenticated
        and owner.is_superuser
        and has_privileges(actor, "/", AUDIT_PRIVILEGE)
    )


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed out: the login page; signed in but no operator: 404, like a page that does not
    exist, so tenants do not learn what the back-office has."""

    @wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not is_operator(request.user):
            raise Http404("no such page")
        return view(request, *args, **kwargs)

    return login_required(checked)
