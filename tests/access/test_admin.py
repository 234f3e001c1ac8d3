"""The back-office admin: pages render, forms validate like PVE, changes are audited and seen."""

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.access import engine
from apps.access.models import AclEntry, Role
from apps.access.services import token_create
from apps.audit.models import AuditEvent
from apps.identity.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, make_user):
    operator = make_user("op@pve")
    User.objects.filter(pk=operator.pk).update(is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(pk=operator.pk))
    return client


@pytest.mark.parametrize("model", ["role", "group", "aclentry", "pool", "apitoken"])
def test_changelists_render(operator_client, model: str) -> None:
    assert operator_client.get(f"/admin/access/{model}/").status_code == 200
    assert operator_client.get(f"/admin/access/{model}/add/").status_code == (
        403 if model == "apitoken" else 200
    )


def test_token_page_never_shows_the_secret_or_its_digest(operator_client, make_user) -> None:
    ann = make_user("ann@pve")
    token, secret = token_create(user=ann, name="ci")
    page = operator_client.get(f"/admin/access/apitoken/{token.pk}/change/").content.decode()
    assert "ann@pve!ci" in page
    assert secret not in page
    assert token.secret_digest not in page


def test_acl_entry_added_in_the_admin_is_audited_and_checked(operator_client, make_user) -> None:
    ann = make_user("ann@pve")
    assert not engine.has_privileges(ann, "/vms/100", "VM.Audit")
    response = operator_client.post(
        "/admin/access/aclentry/add/",
        {"path": "//vms//", "role": "PVEAuditor", "propagate": "on", "user": ann.pk},
    )
    assert response.status_code == 302, response.content
    assert AclEntry.objects.get().path == "/vms"
    assert AuditEvent.objects.filter(action="access.aclentry_created", actor="op@pve").exists()
    assert engine.has_privileges(ann, "/vms/100", "VM.Audit")
    assert not engine.has_privileges(AnonymousUser(), "/vms/100", "VM.Audit")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"path": "/nowhere", "role": "PVEAuditor"}, "invalid ACL path"),
        ({"path": "/vms", "role": "Ghost"}, "role &#x27;Ghost&#x27; does not exist"),
        ({"path": "/vms", "role": "PVEAuditor", "user": ""}, "exactly one of user, group or token"),
    ],
)
def test_acl_entry_form_refuses_what_pve_refuses(
    operator_client, make_user, data: dict, message: str
) -> None:
    ann = make_user("ann@pve")
    data = {"user": ann.pk, **data}
    response = operator_client.post("/admin/access/aclentry/add/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AclEntry.objects.exists()


def test_role_form_refuses_the_pve_namespace(operator_client) -> None:
    response = operator_client.post(
        "/admin/access/role/add/", {"name": "PVEMine", "privileges": ["VM.Audit"]}
    )
    assert response.status_code == 200
    assert "&#x27;PVE&#x27; namespace" in response.content.decode()
    response = operator_client.post(
        "/admin/access/role/add/", {"name": "Mine", "privileges": ["VM.Audit", "Sys.Audit"]}
    )
    assert response.status_code == 302
    assert Role.objects.get(name="Mine").privileges == ["Sys.Audit", "VM.Audit"]
    assert AuditEvent.objects.filter(action="access.role_created").exists()
