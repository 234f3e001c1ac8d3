"""Top-level URL configuration."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.web.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
