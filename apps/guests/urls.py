from django.urls import path

from apps.guests import views

app_name = "guests"

urlpatterns = [
    path("guests/", views.guest_list, name="list"),
    path("guests/new/", views.guest_create, name="create"),
    path("guests/bulk/", views.guest_bulk_power, name="bulk-power"),
    path("guests/<int:vmid>/", views.guest_detail, name="detail"),
    path("guests/<int:vmid>/live/", views.guest_live, name="live"),
    path("guests/<int:vmid>/power/<slug:action>/", views.guest_power, name="power"),
    path("guests/<int:vmid>/settings/", views.guest_settings, name="settings"),
    path("guests/<int:vmid>/delete/", views.guest_delete, name="delete"),
]
