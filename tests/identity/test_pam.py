"""The PAM realm against real local accounts created by the test (needs root, as CI has)."""

import subprocess
import uuid

import pytest

from apps.identity.models import Realm
from apps.identity.services.users import user_create
from tests.identity.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_account():
    """A real Linux account with a password, removed afterwards."""
    name = f"pt{uuid.uuid4().hex[:8]}"
    password = f"Pam-{uuid.uuid4().hex[:12]}"
    subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}", text=True, check=True)
    yield name, password
    subprocess.run(["userdel", name], check=True)


def enable_pam(**options) -> None:
    Realm.objects.filter(name="pam").update(enabled=True, options=options)


def test_listed_local_account_logs_in_through_pam(client, local_account) -> None:
    name, password = local_account
    enable_pam(**{"allowed-users": name})
    user_create(userid=f"{name}@pam")

    assert login(client, username=name, password=password, realm="pam").status_code == 302
    client.logout()
    wrong = login(client, username=name, password="wrong", realm="pam")
    assert "Login failed." in wrong.content.decode()


def test_account_in_an_allowed_group_logs_in(client, local_account) -> None:
    name, password = local_account
    enable_pam(**{"allowed-groups": name})  # useradd made a personal group of the same name
    user_create(userid=f"{name}@pam")
    assert login(client, username=name, password=password, realm="pam").status_code == 302


def test_unlisted_account_and_disabled_realm_are_refused(client, local_account) -> None:
    name, password = local_account
    user_create(userid=f"{name}@pam")

    enable_pam(**{"allowed-users": "somebody-else"})
    assert (
        "Login failed."
        in login(client, username=name, password=password, realm="pam").content.decode()
    )

    Realm.objects.filter(name="pam").update(enabled=False, options={"allowed-users": name})
    response = login(client, username=f"{name}@pam", password=password)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
