"""Waiting on a page's JavaScript state under the portal's Content-Security-Policy."""

from playwright.sync_api import Page


def wait_until(page: Page, expression: str) -> None:
    """Like page.wait_for_function, which evaluates its predicate with eval(): the portal's
    Content-Security-Policy refuses that, and page.evaluate is not subject to it."""
    for _look in range(200):  # 10 s, Playwright's default wait
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"still false: {expression}")
