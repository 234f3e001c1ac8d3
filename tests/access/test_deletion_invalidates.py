"""Deleting a user by any path drops their grants from the compiled model at once."""

import pytest

from apps.access.engine import has_privileges
from apps.access.services import acl_modify
from apps.identity.models import User
from apps.identity.services.users import user_create

pytestmark = pytest.mark.django_db


def test_a_recreated_user_id_does_not_inherit_the_deleted_users_grants() -> None:
    alice = user_create(userid="alice@pve", password="x")
    acl_modify(path="/", roles=["Administrator"], users=["alice@pve"])
    assert has_privileges(alice, "/", ["Sys.Modify"])

    User.objects.filter(pk=alice.pk).delete()  # as the admin's bulk delete does
    newcomer = user_create(userid="alice@pve", password="y")

    assert not has_privileges(newcomer, "/", ["Sys.Modify"])
