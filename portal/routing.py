"""Websocket routes of every app, mounted under /ws/."""

from apps.consoles.routing import websocket_urlpatterns as consoles_websockets
from apps.operations.routing import websocket_urlpatterns as operations_websockets

websocket_urlpatterns: list = [
    *operations_websockets,
    *consoles_websockets,
]
