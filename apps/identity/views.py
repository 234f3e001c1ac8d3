"""Login (realm, password, second factor) and the account's security page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from apps.audit.services import Actor
from apps.identity.forms import LoginForm, SecondFactorForm, TotpConfirmForm
from apps.identity.realms.openid import issuer_origin
from apps.identity.selectors import openid_login_realms
from apps.identity.services import login as login_flow
from apps.identity.services import totp
from apps.identity.services.users import resolve_login_userid

LOGIN_FAILED = gettext_lazy("Login failed. Check the user name, realm and password.")
CODE_FAILED = gettext_lazy("That code is not valid.")


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    chosen_realm = {"realm": request.GET["realm"]} if "realm" in request.GET else None
    form = LoginForm(request.POST or None, initial=chosen_realm)
    if request.method == "POST" and form.is_valid():
        userid = resolve_login_userid(
            name=form.cleaned_data["username"], realm_name=form.cleaned_data["realm"]
        )
        step = login_flow.login_check_password(
            request=request, userid=userid, password=form.cleaned_data["password"]
        )
        if step is None:
            form.add_error(None, LOGIN_FAILED)
        else:
            return login_continue(request=request, step=step, next_url=_next_url(request))
    openid_realms = openid_login_realms()
    openid_chosen = form["realm"].value() in {realm.name for realm, _url in openid_realms}
    response = render(
        request,
        "identity/login.html",
        {
            "form": form,
            "next": _next_url(request),
            "openid_realms": openid_realms,
            "openid_chosen": openid_chosen,
        },
    )
    if openid_realms:
        # The "Sign in with" forms end in a redirect to the IdP, which CSP's form-action checks.
        response._csp_update = {
            "form-action": sorted({issuer_origin(realm) for realm, _url in openid_realms})
        }
    return response


def login_continue(
    *, request: HttpRequest, step: login_flow.FirstFactorPassed, next_url: str
) -> HttpResponse:
    """After the password or the OpenID Connect IdP: the TOTP step when there is one."""
    if step.needs_code or step.needs_enrolment:
        login_flow.login_hold_pending(request=request, user=step.user)
        request.session["identity_next"] = next_url
        return redirect("identity:login-enrol" if step.needs_enrolment else "identity:login-verify")
    login_flow.login_complete(request=request, user=step.user)
    return redirect(next_url)


def login_locked_out(
    request: HttpRequest, credentials: dict, *args: object, **kwargs: object
) -> HttpResponse:
    """django-axes' answer once an account or address has too many failed logins."""
    return render(
        request,
        "identity/login.html",
        {
            "form": LoginForm(),
            "lockout": _("Too many failed logins. Wait a while before trying again."),
        },
        status=429,
    )


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    user = login_flow.login_pending_user(request)
    if user is None:
        return redirect("identity:login")
    form = SecondFactorForm(request.POST or None)
    locked = totp.totp_is_locked(user)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        if code.isdigit():
            accepted = totp.totp_verify(user=user, code=code, request=request)
            factor = "totp"
        else:
            accepted = totp.recovery_code_use(user=user, code=code, request=request)
            factor = "recovery"
        if accepted:
            login_flow.login_complete(request=request, user=user, second_factor=factor)
            return redirect(request.session.pop("identity_next", "/"))
        locked = totp.totp_is_locked(user)
        form.add_error("code", CODE_FAILED)
    return render(request, "identity/login_verify.html", {"form": form, "locked": locked})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_enrol(request: HttpRequest) -> HttpResponse:
    """The realm requires TOTP and this user has none yet: enrol before the session starts."""
    user = login_flow.login_pending_user(request)
    if user is None:
        return redirect("identity:login")
    if totp.totp_is_active(user):
        return redirect("identity:login-verify")
    if request.method == "GET" or "identity_enrolment" not in request.session:
        device = totp.totp_begin_enrolment(user=user)
        request.session["identity_enrolment"] = True
    else:
        device = user.totp
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp.totp_confirm_enrolment(
                user=user, code=form.cleaned_data["code"], request=request
            )
        except totp.TotpError as error:
            form.add_error("code", str(error))
        else:
            request.session.pop("identity_enrolment", None)
            login_flow.login_complete(request=request, user=user, second_factor="totp-enrolment")
            return render(request, "identity/recovery_codes.html", {"codes": codes})
    return render(
        request,
        "identity/totp_enrol.html",
        {
            "form": form,
            "qr_svg": totp.provisioning_qr_svg(device),
            "secret": device.secret,
            "during_login": True,
        },
    )


@login_required
@never_cache
def account_security(request: HttpRequest) -> HttpResponse:
    user = request.user
    device = getattr(user, "totp", None)
    return render(
        request,
        "identity/security.html",
        {
            "device": device if device is not None and device.is_confirmed else None,
            "recovery_codes_left": totp.recovery_codes_left(user),
            "required": totp.totp_required(user),
        },
    )


@login_required
@sensitive_post_parameters("code")
@never_cache
def account_totp_enrol(request: HttpRequest) -> HttpResponse:
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST":
        device = getattr(request.user, "totp", None)
        if device is None:
            return redirect("identity:totp-enrol")
        if form.is_valid():
            try:
                codes = totp.totp_confirm_enrolment(
                    user=request.user, code=form.cleaned_data["code"], request=request
                )
            except totp.TotpError as error:
                form.add_error("code", str(error))
            else:
                return render(request, "identity/recovery_codes.html", {"codes": codes})
    else:
        try:
            device = totp.totp_begin_enrolment(user=request.user)
        except totp.TotpError as error:
            messages.error(request, str(error))
            return redirect("identity:security")
    return render(
        request,
        "identity/totp_enrol.html",
        {
            "form": form,
            "qr_svg": totp.provisioning_qr_svg(device),
            "secret": device.secret,
        },
    )


@login_required
@require_POST
def account_totp_remove(request: HttpRequest) -> HttpResponse:
    if totp.totp_required(request.user):
        messages.error(request, _("Your realm requires TOTP; it cannot be removed."))
    else:
        totp.totp_remove(user=request.user, actor=Actor.user(request.user), request=request)
        messages.success(request, _("TOTP removed."))
    return redirect("identity:security")


@login_required
@require_POST
def account_recovery_codes(request: HttpRequest) -> HttpResponse:
    try:
        codes = totp.recovery_codes_regenerate(user=request.user, request=request)
    except totp.TotpError as error:
        messages.error(request, str(error))
        return redirect("identity:security")
    return render(request, "identity/recovery_codes.html", {"codes": codes})
