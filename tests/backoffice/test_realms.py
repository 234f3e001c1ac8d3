"""Realms: test the connection, dry run and sync now through the identity services, against a
real OpenLDAP server and a real OpenID Connect provider; built-in realms have nothing to reach or
sync."""

import re

import pytest

from apps.audit.models import AuditEvent
from apps.identity.models import Realm, User
from apps.identity.services.users import realm_create
from tests.services.network import free_port
from tests.services.oidc.provider import oidc_provider_fixture  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def users_added(page: str) -> set[str]:
    return set(re.search(r'data-field="users_added">([^<]*)<', page).group(1).split(", "))


def ldap_realm(slapd, *, name: str = "corp", port: int | None = None) -> Realm:
    return realm_create(
        name=name,
        type="ldap",
        options={
            "server1": "127.0.0.1",
            "port": port or slapd.port,
            "base_dn": f"ou=people,{slapd.base_dn}",
            "user_attr": "uid",
            "bind_dn": slapd.service_dn,
        },
        bind_password=slapd.service_password,
    )


def test_realms_are_listed_with_their_actions(backoffice, slapd) -> None:
    ldap_realm(slapd)
    page = backoffice.client.get("/operator/realms/").content.decode()
    corp = page[page.index('data-realm="corp"') :]
    corp = corp[: corp.index("</tr>")]
    assert "Dry run corp" in corp
    assert "Sync corp now" in corp
    assert "Test corp" in corp
    pve = page[page.index('data-realm="pve"') :]
    assert "Sync pve now" not in pve[: pve.index("</tr>")]


def test_connection_test_reaches_the_directory(backoffice, slapd) -> None:
    ldap_realm(slapd)
    page = backoffice.client.post("/operator/realms/corp/test/").content.decode()
    assert "connection OK" in page
    assert "Connected: 3 users found." in page


def test_connection_test_reports_a_directory_that_does_not_answer(backoffice, slapd) -> None:
    ldap_realm(slapd, name="gone", port=free_port())
    response = backoffice.client.post("/operator/realms/gone/test/")
    assert response.status_code == 200
    assert "connection failed" in response.content.decode()


def openid_realm(*, name: str, issuer: str) -> Realm:
    return realm_create(
        name=name, type="openid", options={"issuer-url": issuer, "client-id": "portal"}
    )


def test_connection_test_reads_the_openid_providers_discovery_document(
    backoffice, oidc_provider
) -> None:
    idp = oidc_provider(["http://testserver/accounts/oidc/sso/login/callback/"])
    openid_realm(name="sso", issuer=idp.issuer)
    page = backoffice.client.post("/operator/realms/sso/test/").content.decode()
    assert "connection OK" in page
    assert f"sign-in goes to {idp.issuer}/auth." in page


def test_connection_test_reports_an_openid_provider_that_does_not_answer(backoffice) -> None:
    openid_realm(name="sso", issuer=f"http://127.0.0.1:{free_port()}")
    page = backoffice.client.post("/operator/realms/sso/test/").content.decode()
    assert "connection failed" in page
    assert "/.well-known/openid-configuration" in page


def test_builtin_realms_have_nothing_to_reach(backoffice) -> None:
    page = backoffice.client.post("/operator/realms/pve/test/").content.decode()
    assert "connection OK" in page
    assert "has no server to reach" in page


def test_dry_run_reports_and_changes_nothing(backoffice, slapd) -> None:
    realm = ldap_realm(slapd)
    events = AuditEvent.objects.count()
    page = backoffice.client.post("/operator/realms/corp/dry-run/").content.decode()
    assert "Dry run of corp: nothing was changed" in page
    assert users_added(page) == {"alice@corp", "bob@corp", "carol@corp"}
    assert not User.objects.filter(realm=realm).exists()
    assert AuditEvent.objects.count() == events
    realm.refresh_from_db()
    assert realm.last_synced_at is None


def test_sync_now_adds_the_users_and_is_audited(backoffice, slapd) -> None:
    realm = ldap_realm(slapd)
    page = backoffice.client.post("/operator/realms/corp/sync/").content.decode()
    assert "corp synced" in page
    assert users_added(page) == {"alice@corp", "bob@corp", "carol@corp"}
    assert User.objects.filter(realm=realm).count() == 3
    event = AuditEvent.objects.get(action="identity.realm_synced")
    assert (event.actor, event.target) == ("op@pve", "/access/realm/corp")
    realm.refresh_from_db()
    assert realm.last_synced_at is not None


def test_refused_syncs_change_nothing(backoffice, slapd) -> None:
    ldap_realm(slapd, name="gone", port=free_port())
    users, events = User.objects.count(), AuditEvent.objects.count()
    response = backoffice.client.post("/operator/realms/gone/sync/")
    assert response.status_code == 400
    assert "gone:" in response.content.decode()
    response = backoffice.client.post("/operator/realms/pve/sync/")
    assert response.status_code == 400
    assert "Only LDAP and Active Directory realms are synced" in response.content.decode()
    assert backoffice.client.post("/operator/realms/nope/sync/").status_code == 404
    assert (User.objects.count(), AuditEvent.objects.count()) == (users, events)
