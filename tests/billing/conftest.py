"""An integration with a signing key, its operator principal, and a way to deliver signed
events; the pvesim cluster, worker and helpers come from the guests' tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from apps.billing.models import Integration, IntegrationKey
from apps.billing.signing import SIGNATURE_HEADER, sign, verify
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from tests.guests.conftest import cluster, worker  # noqa: F401 (fixtures)

KEY = "whsec-current-key"


@pytest.fixture
def integration() -> Integration:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    principal = user_create(userid="billing@pve", is_staff=True)
    integration = Integration.objects.create(name="whmcs", principal=principal)
    IntegrationKey.objects.create(integration=integration, label="current", secret=KEY)
    return integration


def deliver(
    payload: dict | bytes,
    *,
    key: str = KEY,
    timestamp: int | None = None,
    signed_body: bytes | None = None,
    client: Client | None = None,
):
    """POST the event signed with `key` (over `signed_body` when given, to tamper with it)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = sign(key=key, content=signed_body or body, timestamp=timestamp)
    return (client or Client()).post(
        "/billing/webhooks/",
        body,
        content_type="application/json",
        HTTP_PORTAL_SIGNATURE=header,
    )


def poll(event_id: str, *, key: str = KEY):
    path = f"/billing/webhooks/{event_id}/"
    return Client().get(path, HTTP_PORTAL_SIGNATURE=sign(key=key, content=path.encode()))


def event(event_id: str, type_: str, **data: object) -> dict:
    return {"id": event_id, "type": type_, "created": int(time.time()), "data": data}


class Receiver:
    """A real HTTP endpoint in a thread: answers each POST with the next scripted status (the
    last one repeats) and keeps what it was sent."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = (
                    receiver.statuses.pop(0)
                    if len(receiver.statuses) > 1
                    else (receiver.statuses[0])
                )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/portal-events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        """What was received, each checked to be signed with the integration's key."""
        for headers, body in self.received:
            verify(header=headers[SIGNATURE_HEADER], content=body, keys=[KEY])
        return [json.loads(body) for _headers, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """The integration's endpoint; set `receiver.statuses` to script its answers."""
    endpoint = Receiver([200])
    yield endpoint
    endpoint.close()
