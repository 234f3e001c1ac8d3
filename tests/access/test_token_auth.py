"""Portal API tokens in DRF: both header forms, uniform 401s, last use and privilege separation."""

from datetime import timedelta

import pytest
from django.urls import path
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import engine
from apps.access.models import ApiToken
from apps.access.services import acl_modify, token_create, token_import
from apps.identity.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class WhoAmI(APIView):
    """What the access engine makes of the caller."""

    def get(self, request: Request) -> Response:
        actor = engine.actor_of(request)
        return Response(
            {
                "user": request.user.get_username(),
                "principal": engine.principal_of(actor),
                "token": isinstance(request.auth, ApiToken),
                "may_power_on_100": engine.has_privileges(actor, "/vms/100", "VM.PowerMgmt"),
            }
        )


urlpatterns = [path("whoami/", WhoAmI.as_view())]


@pytest.fixture
def ann(make_user) -> User:
    return make_user("ann@pve")


@pytest.fixture
def token_and_secret(ann: User) -> tuple[ApiToken, str]:
    return token_create(user=ann, name="ci")


def _get(client, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get("/whoami/", headers=headers)


@pytest.mark.parametrize(
    "template",
    [
        "PVEAPIToken={tokenid}={secret}",
        "PVEAPIToken {tokenid}={secret}",
        "PVEAPIToken={tokenid} {secret}",
        "Bearer {tokenid}={secret}",
        "PVEAPIToken={escaped}={secret}",
    ],
)
def test_header_forms(client, token_and_secret, template: str) -> None:
    token, secret = token_and_secret
    header = template.format(tokenid=token.tokenid, escaped="ann%40pve%21ci", secret=secret)
    response = _get(client, header)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "user": "ann@pve",
        "principal": "ann@pve!ci",
        "token": True,
        "may_power_on_100": False,
    }


def test_secret_is_stored_only_as_a_digest(token_and_secret) -> None:
    token, secret = token_and_secret
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in stored.secret_digest
    assert len(stored.secret_digest) == 64
    assert len(secret.replace("-", "")) == 32  # 128 bits, in PVE's UUID shape


def _expire_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(expire=timezone.now() - timedelta(seconds=1))


def _disable_owner(token: ApiToken) -> None:
    User.objects.filter(pk=token.user_id).update(is_active=False)


def _expire_owner(token: ApiToken) -> None:
    User.objects.filter(pk=token.user_id).update(expire=timezone.now() - timedelta(seconds=1))


@pytest.mark.parametrize(
    ("header", "spoil"),
    [
        ("PVEAPIToken={tokenid}=wrong-secret", None),
        ("PVEAPIToken=ann@pve!nope={secret}", None),
        ("PVEAPIToken=bob@pve!ci={secret}", None),
        ("PVEAPIToken=not-a-token={secret}", None),
        ("PVEAPIToken={tokenid}", None),
        ("PVEAPIToken={tokenid}={secret}", _expire_token),
        ("PVEAPIToken={tokenid}={secret}", _disable_owner),
        ("PVEAPIToken={tokenid}={secret}", _expire_owner),
    ],
)
def test_every_failure_is_the_same_401(client, token_and_secret, header: str, spoil) -> None:
    token, secret = token_and_secret
    if spoil is not None:
        spoil(token)
    response = _get(client, header.format(tokenid=token.tokenid, secret=secret))
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication failed!"}
    assert response.headers["WWW-Authenticate"] == "PVEAPIToken"


def test_imported_token_without_a_secret_never_authenticates(client, ann: User) -> None:
    token = token_import(user=ann, name="legacy", privsep=False, expire=None)
    assert _get(client, f"PVEAPIToken={token.tokenid}=").status_code == 401
    assert _get(client, f"PVEAPIToken={token.tokenid}=anything").status_code == 401


def test_no_credentials_is_401_and_sessions_still_work(client, ann: User) -> None:
    assert _get(client, None).status_code == 401
    client.force_login(ann)
    response = _get(client, None)
    assert response.status_code == 200
    assert response.json()["principal"] == "ann@pve"
    assert response.json()["token"] is False


def test_last_used_is_recorded_at_most_once_a_minute(client, token_and_secret) -> None:
    token, secret = token_and_secret
    header = f"PVEAPIToken={token.tokenid}={secret}"
    assert token.last_used_at is None
    assert _get(client, header).status_code == 200
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    assert _get(client, header).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first_use  # no write within the minute
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    assert _get(client, header).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first_use - timedelta(minutes=2)


def test_privsep_token_is_limited_to_what_the_user_may_do(client, ann: User) -> None:
    separated, separated_secret = token_create(user=ann, name="ci")
    full, full_secret = token_create(user=ann, name="full", privsep=False)
    acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"])
    acl_modify(path="/vms", roles=["PVEVMUser"], tokens=["ann@pve!ci"])

    def may_power(token: ApiToken, secret: str) -> bool:
        response = _get(client, f"PVEAPIToken={token.tokenid}={secret}")
        assert response.status_code == 200
        return response.json()["may_power_on_100"]

    # The token's ACL grants VM.PowerMgmt, the user's does not: the intersection has none.
    assert not may_power(separated, separated_secret)
    acl_modify(path="/vms", roles=["PVEVMUser"], users=["ann@pve"])
    assert may_power(separated, separated_secret)
    assert may_power(full, full_secret)
