import pytest
from django.contrib.auth import authenticate

from apps.core.demo import DEMO_LOGINS, seed_demo

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]


def test_seed_demo_is_idempotent_and_its_logins_work(django_user_model, rf) -> None:
    seed_demo()
    seed_demo()
    assert django_user_model.objects.count() == len(DEMO_LOGINS)
    for login in DEMO_LOGINS:
        assert (
            authenticate(rf.post("/login/"), username=login.userid, password=login.password)
            is not None
        )
    assert django_user_model.objects.get(username="operator@pve").is_staff
    assert not django_user_model.objects.get(username="alice@pve").is_staff


def test_demo_customer_administers_the_demo_tenant_with_plans_to_choose_from() -> None:
    from apps.access.engine import has_privileges
    from apps.identity.models import User
    from apps.tenancy.models import Plan

    seed_demo()
    seed_demo()
    alice = User.objects.get(username="alice@pve")
    assert alice.tenant.slug == "acme"
    assert alice.tenant.quota.guests == 5
    assert has_privileges(alice, "/pool/acme", ["VM.Allocate", "VM.PowerMgmt"])
    assert set(Plan.objects.values_list("slug", flat=True)) == {"small", "medium"}
