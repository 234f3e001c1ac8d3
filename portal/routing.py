"""Websocket routes of every app, mounted under /ws/."""

websocket_urlpatterns: list = []
