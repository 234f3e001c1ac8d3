"""Websocket routes of operations (mounted under /ws/ by portal/routing.py)."""

from django.urls import path

from apps.operations.consumers import OperationProgressConsumer

websocket_urlpatterns = [
    path("ws/operations/", OperationProgressConsumer.as_asgi()),
]
