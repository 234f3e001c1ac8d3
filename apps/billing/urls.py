from django.urls import path

from apps.billing import views

app_name = "billing"

urlpatterns = [
    path("billing/webhooks/", views.webhook_receive, name="webhook"),
    path("billing/stripe/", views.stripe_receive, name="stripe"),
    path("billing/webhooks/<str:event_id>/", views.webhook_status, name="webhook_status"),
]
