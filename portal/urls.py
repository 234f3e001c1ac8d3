"""Top-level URL configuration."""

from allauth.urls import build_provider_urlpatterns
from django.contrib import admin
from django.urls import include, path

from apps.identity.views import login_view

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.monitoring.urls")),
    path("", include("apps.web.urls")),
    path("", include("apps.guests.urls")),
    path("", include("apps.backups.urls")),
    path("", include("apps.operations.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("apps.identity.urls")),
    path("", include("apps.tenantadmin.urls")),
    path("", include("apps.backoffice.urls")),
    path("", include("apps.consoles.urls")),
    path("", include("apps.billing.urls")),
    # allauth's own pages (password reset, e-mail, sessions) link here: one login page for all.
    path("accounts/login/", login_view, name="account_login"),
    path("accounts/", include("allauth.account.urls")),
    path("accounts/sessions/", include("allauth.usersessions.urls")),
    # OpenID Connect realms' sign-in and callback only: accounts belong to realms, so allauth's
    # social sign-up and "connected accounts" pages are not offered.
    path("accounts/", include(build_provider_urlpatterns())),
    path("admin/", admin.site.urls),
    path("api/", include("portal.api_urls")),
]
