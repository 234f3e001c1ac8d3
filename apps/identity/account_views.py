"""The account's API tokens and sessions, linked from the security page. A token's secret is
in the one response that creates it and nowhere else."""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.access.selectors import token_list
from apps.access.services import USER_EXPIRY, token_create, token_delete
from apps.audit.services import Actor
from apps.identity.forms import TokenForm
from apps.identity.selectors import session_list
from apps.identity.services.sessions import sessions_end


def _end_of_day(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def account_tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = TokenForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            expire = form.cleaned_data["expire"]
            try:
                token, secret = token_create(
                    user=user,
                    name=form.cleaned_data["name"],
                    privsep=form.cleaned_data["privsep"],
                    expire=_end_of_day(expire) if expire else USER_EXPIRY,
                    comment=form.cleaned_data["comment"],
                    actor=Actor.user(user),
                )
            except ValidationError as error:
                form.add_error("name", error.messages)
            else:
                created = {"tokenid": token.tokenid, "secret": secret}
                form = TokenForm()
                status = 200
    return render(
        request,
        "identity/tokens.html",
        {"tokens": token_list(user=user), "form": form, "created": created},
        status=status,
    )


@login_required
@require_POST
def account_token_revoke(request: HttpRequest, name: str) -> HttpResponse:
    token = token_list(user=request.user).filter(name=name).first()
    if token is None:
        raise Http404("no such token")
    token_delete(token=token, actor=Actor.user(request.user))
    messages.success(request, _("Token %(tokenid)s revoked.") % {"tokenid": token.tokenid})
    return redirect("identity:tokens")


@never_cache
@login_required
@require_GET
def account_sessions(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "identity/sessions.html",
        {
            "sessions": session_list(user=request.user),
            "current_key": request.session.session_key,
        },
    )


@login_required
@require_POST
def account_session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    if not sessions_end(user=request.user, request=request, session_id=session_id):
        raise Http404("no such session")
    messages.success(request, _("That session is signed out."))
    return redirect("identity:sessions")


@login_required
@require_POST
def account_sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = sessions_end(user=request.user, request=request)
    messages.success(request, _("%(count)d other session(s) signed out.") % {"count": ended})
    return redirect("identity:sessions")
