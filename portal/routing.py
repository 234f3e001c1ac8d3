"""Websocket routes of every app, mounted under /ws/."""

from apps.operations.routing import websocket_urlpatterns as operations_websockets

websocket_urlpatterns: list = [
    *operations_websockets,
]
