"""Chromium (Debian's package) driven by Playwright against the live test server."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from apps.identity.models import Realm

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per module: Playwright's sync API keeps an event loop in this thread, which
    would disturb async-aware code in other modules if it outlived them."""
    with pytest.MonkeyPatch.context() as environment:
        # The ORM calls the tests make around Playwright are ordinary synchronous ones.
        environment.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def builtin_realms(transactional_db) -> None:
    """Transactional tests empty every table between tests; put back what migrations create."""
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    Realm.objects.get_or_create(name="pam", defaults={"type": "pam", "enabled": False})
