"""Websocket routes of consoles (mounted under /ws/ by portal/routing.py)."""

from django.urls import path

from apps.consoles.consumers import ConsoleConsumer

websocket_urlpatterns = [
    path("ws/console/<str:token>/", ConsoleConsumer.as_asgi()),
]
