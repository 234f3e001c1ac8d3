"""Live updates over the websocket: the portal served by uvicorn (ASGI, so ws/operations/ is
there), the worker publishing progress on Redis. A guest page that has nothing in flight (so it
does not poll) shows the guest stopping when an operation made elsewhere stops it: only the
websocket can have told it.

The web process is a subprocess on the test's database; the worker is the test's own (Celery's
test worker in a thread), publishing through the same Redis channel layer under a prefix of this
test's own.
"""

import os
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from apps.guests.models import Guest
from apps.guests.services import guest_create, guest_power
from tests.browser.test_login import sign_in
from tests.browser.test_portal import LONG, alice, screenshot  # noqa: F401 - fixture
from tests.browser.waiting import wait_until
from tests.conftest import portal_over_uvicorn
from tests.guests.conftest import (  # noqa: F401 - fixtures
    acme,
    cluster,
    small,
    wait_until_terminal,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_channel_layer(settings, redis_url) -> dict[str, str]:
    """This process publishes on Redis under a prefix nobody else uses; the web process is given
    the same."""
    prefix = f"test-live-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }
    return {"PORTAL_TEST_CHANNEL_REDIS": redis_url, "PORTAL_TEST_CHANNEL_PREFIX": prefix}


def database_url() -> str:
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path="/" + database["NAME"]).geturl()


def web_process_env(redis_channel_layer: dict[str, str]) -> dict[str, str]:
    """A web process's environment: this test's database and channel layer."""
    return {
        **os.environ,
        **redis_channel_layer,
        "DJANGO_SETTINGS_MODULE": "tests.browser.asgi_settings",
        "DATABASE_URL": database_url(),
        "PORTAL_READ_DOT_ENV": "false",
    }


@pytest.fixture
def asgi_portal(transactional_db, redis_channel_layer) -> Iterator[str]:
    with portal_over_uvicorn(web_process_env(redis_channel_layer)) as base_url:
        yield base_url


def test_a_guest_page_follows_an_operation_made_elsewhere_over_the_websocket(
    page: Page,
    asgi_portal: str,
    alice,  # noqa: F811
    acme,  # noqa: F811
    small,  # noqa: F811
    worker,  # noqa: F811
) -> None:
    made = guest_create(tenant=acme, plan=small, template_vmid=9000, name="live1", actor=alice)
    assert wait_until_terminal(str(made.pk)).state == "succeeded"
    guest = Guest.objects.get(pk=made.guest_id)

    sign_in(page, asgi_portal, username="alice", realm="pve", password="alice-password-1")
    page.goto(f"{asgi_portal}/guests/{guest.vmid}/")
    status = page.locator("[data-field=status]")
    expect(status).to_have_text("running")
    wait_until(page, "window.portalLive.socket === 'open'")
    assert page.evaluate("window.portalLive.polls") == 0  # nothing in flight: no polling
    page.evaluate("window.stillTheSamePage = true")

    # As the REST API, the bulk form or an operator would: not through this page.
    stop = guest_power(guest=guest, action="stop", actor=alice)

    expect(status).to_have_text("stopped", timeout=LONG)
    expect(page.locator(f'[data-operation="{stop.pk}"]')).to_have_count(0)  # not on the page
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("window.portalLive.events") > 0
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    screenshot(page, "guest-stopped-over-websocket")
