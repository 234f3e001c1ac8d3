"""No secret is in clear text in a dump of the database: not in the database's own dump
(pg_dump on PostgreSQL, SQLite's SQL dump), not in Django's dumpdata. Cluster token secrets,
realm bind passwords, TOTP seeds and billing keys are encrypted; API token secrets and recovery
codes are stored as digests only. A dumpdata dump loads back with its secrets intact."""

import io
import subprocess
import time

import pyotp
import pytest
from django.core.management import call_command
from django.db import connection

from apps.access.services import token_create
from apps.billing.models import Integration, IntegrationKey
from apps.clusters.models import Cluster
from apps.identity.models import Realm, TotpDevice
from apps.identity.services import totp
from apps.identity.services.users import user_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def secrets() -> dict[str, str]:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    operator = user_create(userid="op@pve", password="x", is_staff=True)
    cluster = Cluster.objects.create(
        name="c",
        api_addresses=["h"],
        token_id="portal@pve!portal",
        token_secret="cluster-token-secret-0c9f1e",
        fingerprint="AA",
    )
    realm = Realm.objects.create(
        name="corp", type="ldap", options={}, bind_password="bind-password-51d2"
    )
    integration = Integration.objects.create(
        name="whmcs", principal=operator, stripe_signing_secret="whsec_stripe_4b7a"
    )
    key = IntegrationKey.objects.create(integration=integration, secret="billing-key-77e1")
    device = totp.totp_begin_enrolment(user=operator)
    recovery = totp.totp_confirm_enrolment(
        user=operator, code=pyotp.TOTP(device.secret).now(), now=time.time()
    )
    _token, api_secret = token_create(user=operator, name="ci", privsep=False)
    return {
        "cluster token": cluster.token_secret,
        "realm bind password": realm.bind_password,
        "stripe signing secret": integration.stripe_signing_secret,
        "billing key": key.secret,
        "TOTP seed": TotpDevice.objects.get(user=operator).secret,
        "recovery code": recovery[0],
        "API token secret": api_secret,
    }


def database_dump() -> str:
    """What the database itself would hand to a backup."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        command = ["pg_dump", "--data-only", "--dbname", settings["NAME"]]
        for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if settings.get(key):
                command += [option, str(settings[key])]
        environment = {"PGPASSWORD": settings.get("PASSWORD") or ""}
        return subprocess.run(
            command, capture_output=True, text=True, check=True, env=environment
        ).stdout
    connection.ensure_connection()
    return "\n".join(connection.connection.iterdump())


def dumpdata() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def test_no_secret_is_in_clear_text_in_the_database_dump(secrets) -> None:
    dump = database_dump()
    assert "portal@pve!portal" in dump  # the dump is real: the token's id is there
    assert [name for name, secret in secrets.items() if secret in dump] == []


def test_no_secret_is_in_clear_text_in_dumpdata(secrets) -> None:
    dump = dumpdata()
    assert "portal@pve!portal" in dump
    assert [name for name, secret in secrets.items() if secret in dump] == []


def test_a_dumpdata_dump_loads_back_with_its_secrets(secrets, tmp_path) -> None:
    fixture = tmp_path / "secrets.json"
    out = io.StringIO()
    call_command("dumpdata", "clusters.cluster", "identity.realm", "billing", stdout=out)
    fixture.write_text(out.getvalue())
    Cluster.objects.update(token_secret="changed")
    Realm.objects.update(bind_password="changed")
    IntegrationKey.objects.update(secret="changed")

    call_command("loaddata", str(fixture), verbosity=0)

    assert Cluster.objects.get().token_secret == secrets["cluster token"]
    assert Realm.objects.get(name="corp").bind_password == secrets["realm bind password"]
    assert IntegrationKey.objects.get().secret == secrets["billing key"]
    assert Integration.objects.get().stripe_signing_secret == secrets["stripe signing secret"]
