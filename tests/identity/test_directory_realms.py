"""LDAP (real slapd) and Active Directory (real Samba AD DC) realms: login, TLS, fallback, sync."""

import pytest

from apps.access.models import Group
from apps.identity.models import User
from apps.identity.realms.directory import Directory, DirectoryError
from apps.identity.services.sync import realm_sync
from apps.identity.services.users import realm_create, user_create
from tests.identity.conftest import login
from tests.services.network import free_port

pytestmark = pytest.mark.django_db


def ldap_realm(slapd, *, name="corp", bind=True, **options):
    base = {
        "server1": "127.0.0.1",
        "port": slapd.port,
        "base_dn": f"ou=people,{slapd.base_dn}",
        "user_attr": "uid",
        "group_dn": f"ou=groups,{slapd.base_dn}",
    }
    if bind:
        base["bind_dn"] = slapd.service_dn
    base.update(options)
    return realm_create(
        name=name, type="ldap", options=base, bind_password=slapd.service_password if bind else ""
    )


def test_ldap_user_logs_in_through_the_realm(client, slapd) -> None:
    realm = ldap_realm(slapd)
    user_create(userid="alice@corp")

    assert (
        login(client, username="alice", password="alice-ldap-pw", realm="corp").status_code == 302
    )
    assert client.session["_auth_user_id"] == str(User.objects.get(username="alice@corp").pk)
    client.logout()
    refused = login(client, username="alice", password="wrong", realm="corp")
    assert "Login failed." in refused.content.decode()
    assert Directory(realm).check_password("alice", "") is False  # no anonymous-bind loophole


def test_ldap_user_not_known_to_the_portal_cannot_log_in(client, slapd) -> None:
    ldap_realm(slapd)
    response = login(client, username="bob", password="bob-ldap-pw", realm="corp")
    assert "Login failed." in response.content.decode()


def test_without_bind_dn_the_user_dn_is_built_from_user_attr_and_base_dn(slapd) -> None:
    realm = ldap_realm(slapd, bind=False)
    assert Directory(realm).check_password("bob", "bob-ldap-pw")


def test_ldaps_with_certificate_verification_against_the_ca(slapd) -> None:
    verified = ldap_realm(
        slapd, name="tls", port=slapd.tls_port, mode="ldaps", verify=True, capath=str(slapd.ca_file)
    )
    assert Directory(verified).check_password("alice", "alice-ldap-pw")


def test_ldaps_refuses_a_certificate_it_cannot_verify(client, slapd) -> None:
    ldap_realm(
        slapd,
        name="untrusted",
        port=slapd.tls_port,
        mode="ldaps",
        verify=True,
        capath="/etc/ssl/certs/ca-certificates.crt",
    )
    user_create(userid="alice@untrusted")
    response = login(client, username="alice", password="alice-ldap-pw", realm="untrusted")
    assert "Login failed." in response.content.decode()


def test_starttls(slapd) -> None:
    realm = ldap_realm(
        slapd, name="starttls", mode="ldap+starttls", verify=True, capath=str(slapd.ca_file)
    )
    assert Directory(realm).check_password("carol", "carol-ldap-pw")


def test_falls_back_to_server2_when_server1_is_down(slapd) -> None:
    # Nothing listens on 127.0.0.2: slapd is bound to 127.0.0.1 only.
    realm = ldap_realm(slapd, name="fallback", server1="127.0.0.2", server2="127.0.0.1")
    assert Directory(realm).check_password("alice", "alice-ldap-pw")


def test_unreachable_directory_fails_the_login_cleanly(client, slapd) -> None:
    realm = ldap_realm(slapd, name="down", port=free_port())
    user_create(userid="alice@down")
    with pytest.raises(DirectoryError):
        Directory(realm).find_user_dn("alice")
    response = login(client, username="alice", password="alice-ldap-pw", realm="down")
    assert response.status_code == 200
    assert "Login failed." in response.content.decode()


def test_sync_creates_users_and_groups_and_dry_run_changes_nothing(slapd) -> None:
    realm = ldap_realm(slapd)

    dry = realm_sync(realm=realm, scope="both", dry_run=True)
    assert sorted(dry.users_added) == ["alice@corp", "bob@corp", "carol@corp"]
    assert sorted(dry.groups_added) == ["admins-corp", "devs-corp"]
    assert not User.objects.filter(realm=realm).exists()
    assert not Group.objects.exists()

    report = realm_sync(realm=realm, scope="both")
    assert sorted(report.users_added) == ["alice@corp", "bob@corp", "carol@corp"]
    alice = User.objects.get(username="alice@corp")
    assert (alice.email, alice.first_name, alice.last_name) == (
        "alice@example.org",
        "Alice",
        "Liddell",
    )
    devs = Group.objects.get(name="devs-corp")
    assert sorted(devs.members.values_list("username", flat=True)) == ["alice@corp", "bob@corp"]

    again = realm_sync(realm=realm, scope="both")
    assert (again.users_added, again.users_updated, again.groups_updated) == ([], [], [])


def test_synced_user_logs_in_and_vanished_entries_are_removed_when_asked(client, slapd) -> None:
    realm = ldap_realm(slapd)
    realm_sync(realm=realm, scope="both")
    assert (
        login(client, username="carol", password="carol-ldap-pw", realm="corp").status_code == 302
    )

    slapd.modify(f"dn: uid=carol,ou=people,{slapd.base_dn}\nchangetype: delete\n")
    slapd.modify(
        f"dn: cn=devs,ou=groups,{slapd.base_dn}\nchangetype: modify\n"
        f"delete: member\nmember: uid=bob,ou=people,{slapd.base_dn}\n"
    )
    try:
        kept = realm_sync(realm=realm, scope="both")
        assert kept.users_removed == []
        assert User.objects.filter(username="carol@corp").exists()
        assert kept.groups_updated == ["devs-corp"]

        removed = realm_sync(realm=realm, scope="users", remove_vanished=frozenset({"entry"}))
        assert removed.users_removed == ["carol@corp"]
        assert not User.objects.filter(username="carol@corp").exists()
    finally:
        slapd.modify(
            f"dn: uid=carol,ou=people,{slapd.base_dn}\nchangetype: add\n"
            "objectClass: inetOrgPerson\nuid: carol\ncn: Carol Danvers\n"
            "givenName: Carol\nsn: Danvers\nmail: carol@example.org\nuserPassword: carol-ldap-pw\n"
        )
        slapd.modify(
            f"dn: cn=devs,ou=groups,{slapd.base_dn}\nchangetype: modify\n"
            f"add: member\nmember: uid=bob,ou=people,{slapd.base_dn}\n"
        )


def test_sync_rejects_unknown_options(slapd) -> None:
    realm = ldap_realm(slapd)
    with pytest.raises(ValueError, match="remove-vanished"):
        realm_sync(realm=realm, remove_vanished=frozenset({"everything"}))
    with pytest.raises(ValueError, match="scope"):
        realm_sync(realm=realm, scope="nobody")


def ad_realm(samba, *, name="ad", **options):
    base = {"server1": "127.0.0.1", "domain": samba.domain, "mode": "ldaps", "verify": False}
    base.update(options)
    return realm_create(
        name=name,
        type="ad",
        options=base,
        bind_password=samba.admin_password if "bind_dn" in options else "",
    )


def test_ad_user_logs_in_by_upn(client, samba_ad) -> None:
    ad_realm(samba_ad)
    user_create(userid="dave@ad")
    assert login(client, username="dave", password="Dave-AD-pw1", realm="ad").status_code == 302
    client.logout()
    assert (
        "Login failed."
        in login(client, username="dave", password="nope", realm="ad").content.decode()
    )


def test_ad_user_logs_in_by_samaccountname_and_groups_sync(client, samba_ad) -> None:
    realm = ad_realm(
        samba_ad,
        name="adsync",
        bind_dn=samba_ad.admin_upn,
        base_dn=f"CN=Users,{samba_ad.base_dn}",
        filter="(!(isCriticalSystemObject=TRUE))",
    )

    report = realm_sync(realm=realm, scope="both")

    assert {"dave@adsync", "erin@adsync"} <= set(report.users_added)
    members = Group.objects.get(name="portal-users-adsync").members
    assert sorted(members.values_list("username", flat=True)) == ["dave@adsync", "erin@adsync"]
    assert list(
        Group.objects.get(name="portal-admins-adsync").members.values_list("username", flat=True)
    ) == ["dave@adsync"]
    erin = User.objects.get(username="erin@adsync")
    assert erin.email == f"erin@{samba_ad.domain}"
    assert login(client, username="erin", password="Erin-AD-pw1", realm="adsync").status_code == 302


@pytest.fixture
def eager_celery():
    from portal.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def test_scheduled_sync_runs_due_realms_with_their_default_options(slapd, eager_celery) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.identity.selectors import realms_due_for_sync
    from apps.identity.tasks import sync_due_realms

    scheduled = ldap_realm(
        slapd, name="sched", **{"sync-defaults-options": "scope=users,enable-new=0"}
    )
    scheduled.sync_interval_minutes = 60
    scheduled.save()
    ldap_realm(slapd, name="manual")  # interval 0: only on demand

    assert sync_due_realms.delay().get() == [scheduled.pk]

    scheduled.refresh_from_db()
    assert scheduled.last_synced_at is not None
    synced = User.objects.filter(realm=scheduled)
    assert synced.count() == 3
    assert not synced.filter(is_active=True).exists()  # enable-new=0
    assert not Group.objects.exists()  # scope=users
    assert not User.objects.filter(realm__name="manual").exists()
    assert realms_due_for_sync(now=timezone.now()) == []
    assert realms_due_for_sync(now=timezone.now() + timedelta(minutes=61)) == [scheduled]


def test_a_case_insensitive_realm_matches_user_names_in_any_case(client, slapd) -> None:
    ldap_realm(slapd, name="ci", **{"case-sensitive": False})
    ldap_realm(slapd, name="cs")
    user_create(userid="alice@ci")
    user_create(userid="alice@cs")
    assert login(client, username="ALICE", password="alice-ldap-pw", realm="ci").status_code == 302
    client.logout()
    refused = login(client, username="ALICE", password="alice-ldap-pw", realm="cs")
    assert "Login failed." in refused.content.decode()
