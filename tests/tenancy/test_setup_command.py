"""`manage.py portal_setup`: the first operator, tenants and plans from the shell."""

import pytest
from django.core.management import CommandError, call_command

from apps.access.engine import has_privileges
from apps.access.models import Pool
from apps.identity.models import User
from apps.tenancy.models import Plan, Tenant

pytestmark = pytest.mark.django_db


def test_operator_tenant_with_admin_and_plan(capsys) -> None:
    call_command("portal_setup", "operator", "root-op@pve", "--password", "Op-pass-123")
    call_command(
        "portal_setup",
        "tenant",
        "acme",
        "--name",
        "ACME",
        "--guests",
        "5",
        "--vcpus",
        "8",
        "--memory-mb",
        "8192",
        "--disk-gb",
        "200",
        "--admin",
        "boss@pve",
        "--admin-password",
        "Boss-pass-123",
    )
    call_command(
        "portal_setup",
        "plan",
        "small",
        "--name",
        "Small",
        "--cores",
        "1",
        "--memory-mb",
        "1024",
        "--disk-gb",
        "20",
    )

    assert User.objects.get(username="root-op@pve").is_staff
    boss = User.objects.get(username="boss@pve")
    assert boss.tenant == Tenant.objects.get(slug="acme")
    assert has_privileges(boss, "/pool/acme", ["VM.Allocate"])
    # The tenant's group: its admin is a member and manages its users.
    assert boss.access_groups.filter(name="acme").exists()
    assert has_privileges(boss, "/access/groups/acme", ["User.Modify"])
    assert not has_privileges(boss, "/access/groups/other", ["User.Modify"])
    assert Pool.objects.filter(name="acme").exists()
    assert Tenant.objects.get(slug="acme").quota.guests == 5
    assert Plan.objects.get(slug="small").memory_mb == 1024
    assert "Plan small created." in capsys.readouterr().out


def test_a_failing_step_leaves_nothing_behind() -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "portal_setup",
            "tenant",
            "acme",
            "--name",
            "ACME",
            "--admin",
            "boss@nowhere",
            "--admin-password",
            "x",
        )
    assert not Tenant.objects.filter(slug="acme").exists()
    with pytest.raises(CommandError):
        call_command("portal_setup", "tenant", "bad slug!", "--name", "Bad")


def test_a_tenant_whose_pool_or_group_name_is_taken_is_refused() -> None:
    call_command("pveum", "group", "add", "taken")
    with pytest.raises(CommandError, match="a pool or group named 'taken' already exists"):
        call_command("portal_setup", "tenant", "taken", "--name", "Taken")
    assert not Tenant.objects.filter(slug="taken").exists()
