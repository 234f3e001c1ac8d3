"""CSRF: every route of the portal, posted to by a signed-in session without a CSRF token, is
refused with 403 (the pages by Django's middleware, the API by DRF's session authentication),
except the billing webhooks, which are CSRF-exempt by design and answer only to a signature.
API token calls carry no cookie and need no CSRF token, as in DRF."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize
from rest_framework.test import APIClient

from apps.access.services import token_create
from apps.billing.models import BillingEvent
from apps.identity.services.users import user_create

pytestmark = pytest.mark.django_db

# A parameter gets the first of these its converter accepts.
SAMPLES = ["1", "x1", "serial0", str(uuid.UUID(int=1))]
# Named groups of regex routes whose values must be one of a list (the admin's app index).
REGEX_SAMPLES = {"app_label": "identity"}
# Signed instead: a webhook without its signature is refused before anything is stored.
CSRF_EXEMPT_BY_DESIGN = {"billing/webhooks/", "billing/stripe/"}


def _fill_route(route: str, converters: dict) -> str:
    def sample(match: re.Match) -> str:
        regex = converters[match.group(1)].regex
        return next(value for value in SAMPLES if re.fullmatch(regex, value))

    return re.sub(r"<(?:\w+:)?(\w+)>", sample, route)


def _fill_regex(regex: str) -> str:
    template, names = normalize(regex)[0]
    return template % {name: REGEX_SAMPLES.get(name, "x1") for name in names}


def _piece(pattern) -> str:
    if hasattr(pattern.pattern, "_route"):
        return _fill_route(str(pattern.pattern), pattern.pattern.converters)
    return _fill_regex(pattern.pattern.regex.pattern)


def every_route(patterns=None, prefix: str = ""):
    """(url, view) for each URL pattern, with sample values in its parameters."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from every_route(pattern.url_patterns, prefix + _piece(pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + _piece(pattern), pattern.callback


def first_of_each_url(routes) -> list[tuple[str, object]]:
    """The first pattern of a URL is the one that answers (portal/urls.py's login page shadows
    allauth's)."""
    first: dict[str, object] = {}
    for url, view in routes:
        first.setdefault(url, view)
    return list(first.items())


ROUTES = first_of_each_url(every_route())
API_ROUTES = [(url, view) for url, view in ROUTES if url.startswith("api/v1/")]


@pytest.fixture
def session() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    return client


def test_every_route_is_reached_by_its_sample_url() -> None:
    """The URLs below really are the routes (a wrong sample would test another view)."""
    assert len(ROUTES) > 300
    assert [url for url, view in ROUTES if resolve(f"/{url}").func is not view] == []


def test_session_posts_without_a_token_are_refused_everywhere(session) -> None:
    answers = {url: session.post(f"/{url}").status_code for url, _view in ROUTES}
    not_refused = {
        url: status
        for url, status in answers.items()
        if status != 403 and url not in CSRF_EXEMPT_BY_DESIGN
    }
    assert not_refused == {}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_unsafe_api_calls_of_a_session_need_the_token(session, method) -> None:
    answers = {url: getattr(session, method)(f"/{url}").status_code for url, _view in API_ROUTES}
    assert {url: status for url, status in answers.items() if status != 403} == {}


def test_the_billing_webhooks_are_exempt_but_answer_only_a_signature(session) -> None:
    for url in sorted(CSRF_EXEMPT_BY_DESIGN):
        assert session.post(f"/{url}", {"id": "evt-1"}).status_code in (400, 401, 405)
    assert not BillingEvent.objects.exists()


def test_a_session_with_the_csrf_token_gets_through(session) -> None:
    session.get("/")  # sets the CSRF cookie
    token = session.cookies["csrftoken"].value
    response = session.post(
        "/api/v1/guests/bulk/status/start/",
        {"vmids": [424242]},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 202
    assert response.json()["refused"] == {"424242": "no such guest"}


def test_api_token_calls_need_no_csrf_token() -> None:
    user = user_create(userid="alice@pve", password="x")
    _token, secret = token_create(user=user, name="ci", privsep=False)
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/guests/bulk/status/start/",
        {"vmids": [424242]},
        format="json",
        headers={"Authorization": f"Bearer alice@pve!ci={secret}"},
    )
    assert response.status_code == 202
