"""Every route that names an object, called by tenant B's admin with tenant A's ids (alone, or
next to B's own guest), answers exactly as it does for an id that does not exist: 404, or 405
for a method the route never takes. Tenant A's objects stay as they were. A route added with an
object in its URL fails test_every_object_route_is_in_the_matrix until it is listed here."""

import re
import uuid

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from apps.access.models import AclEntry, ApiToken, Group
from apps.access.services import acl_modify, pool_set_guest, token_create
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.backups.models import Backup, BackupSchedule
from apps.billing.models import BillingEvent, Integration
from apps.clusters.models import Cluster, Node
from apps.consoles.models import ConsoleTicket
from apps.guests.models import Guest
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_admin_create, tenant_create
from apps.tenantadmin.services import tenant_group_create

pytestmark = pytest.mark.django_db

# Route -> the URLs calling it with tenant A's objects ({guest_b} is the caller's own guest).
MATRIX = {
    "guests/<int:vmid>/": ["/guests/{guest_a}/"],
    "guests/<int:vmid>/live/": ["/guests/{guest_a}/live/"],
    "guests/<int:vmid>/power/<slug:action>/": [
        "/guests/{guest_a}/power/start/",
        "/guests/{guest_a}/power/stop/",
    ],
    "guests/<int:vmid>/settings/": ["/guests/{guest_a}/settings/"],
    "guests/<int:vmid>/delete/": ["/guests/{guest_a}/delete/"],
    "guests/<int:vmid>/graphs/": ["/guests/{guest_a}/graphs/"],
    "guests/<int:vmid>/manage/": ["/guests/{guest_a}/manage/"],
    "guests/<int:vmid>/resize/": ["/guests/{guest_a}/resize/"],
    "guests/<int:vmid>/reinstall/": ["/guests/{guest_a}/reinstall/"],
    "guests/<int:vmid>/copy/": ["/guests/{guest_a}/copy/"],
    "guests/<int:vmid>/snapshots/": ["/guests/{guest_a}/snapshots/"],
    "guests/<int:vmid>/snapshots/new/": ["/guests/{guest_a}/snapshots/new/"],
    "guests/<int:vmid>/snapshots/<str:name>/rollback/": [
        "/guests/{guest_a}/snapshots/{snapshot_a}/rollback/"
    ],
    "guests/<int:vmid>/snapshots/<str:name>/delete/": [
        "/guests/{guest_a}/snapshots/{snapshot_a}/delete/"
    ],
    "backups/<int:backup_id>/restore/": [
        "/backups/{backup_a}/restore/",
        "/backups/{orphan_backup_a}/restore/",
    ],
    "backups/<int:backup_id>/notes/": [
        "/backups/{backup_a}/notes/",
        "/backups/{orphan_backup_a}/notes/",
    ],
    "backups/<int:backup_id>/protection/": [
        "/backups/{backup_a}/protection/",
        "/backups/{orphan_backup_a}/protection/",
    ],
    "backups/<int:backup_id>/delete/": [
        "/backups/{backup_a}/delete/",
        "/backups/{orphan_backup_a}/delete/",
    ],
    "guests/<int:vmid>/backups/": ["/guests/{guest_a}/backups/"],
    "guests/<int:vmid>/backups/new/": ["/guests/{guest_a}/backups/new/"],
    "guests/<int:vmid>/schedules/new/": ["/guests/{guest_a}/schedules/new/"],
    "guests/<int:vmid>/schedules/<int:schedule_id>/": [
        "/guests/{guest_a}/schedules/{schedule_a}/",
        "/guests/{guest_b}/schedules/{schedule_a}/",
    ],
    "guests/<int:vmid>/schedules/<int:schedule_id>/toggle/": [
        "/guests/{guest_a}/schedules/{schedule_a}/toggle/",
        "/guests/{guest_b}/schedules/{schedule_a}/toggle/",
    ],
    "guests/<int:vmid>/schedules/<int:schedule_id>/delete/": [
        "/guests/{guest_a}/schedules/{schedule_a}/delete/",
        "/guests/{guest_b}/schedules/{schedule_a}/delete/",
    ],
    "operations/<uuid:operation_id>/": ["/operations/{operation_a}/"],
    "operations/<uuid:operation_id>/cancel/": ["/operations/{operation_a}/cancel/"],
    "account/tokens/<str:name>/revoke/": ["/account/tokens/{token_a}/revoke/"],
    "account/sessions/<int:session_id>/end/": ["/account/sessions/{session_a}/end/"],
    "tenant/users/<str:userid>/disable/": ["/tenant/users/{user_a}/disable/"],
    "tenant/users/<str:userid>/enable/": ["/tenant/users/{user_a}/enable/"],
    "tenant/users/<str:userid>/remove/": ["/tenant/users/{user_a}/remove/"],
    "tenant/groups/<str:name>/members/": ["/tenant/groups/{group_a}/members/"],
    "tenant/groups/<str:name>/remove/": ["/tenant/groups/{group_a}/remove/"],
    "tenant/permissions/<int:entry_id>/revoke/": ["/tenant/permissions/{permission_a}/revoke/"],
    "guests/<int:vmid>/sharing/": ["/guests/{guest_a}/sharing/"],
    "guests/<int:vmid>/sharing/grant/": ["/guests/{guest_a}/sharing/grant/"],
    "guests/<int:vmid>/sharing/<int:entry_id>/revoke/": [
        "/guests/{guest_a}/sharing/{share_a}/revoke/",
        "/guests/{guest_b}/sharing/{share_a}/revoke/",
    ],
    "operator/tree/clusters/<slug:cluster>/nodes/<str:node>/": [
        "/operator/tree/clusters/{cluster}/nodes/{node}/"
    ],
    "operator/tree/clusters/<slug:cluster>/types/<slug:guest_type>/": [
        "/operator/tree/clusters/{cluster}/types/qemu/"
    ],
    "operator/tree/pools/<path:name>/": ["/operator/tree/pools/{pool_a}/"],
    "operator/clusters/<slug:cluster>/storages/<str:storage_name>/": [
        "/operator/clusters/{cluster}/storages/{storage}/"
    ],
    "operator/tenants/<str:slug>/suspend/": ["/operator/tenants/{tenant_a}/suspend/"],
    "operator/tenants/<str:slug>/unsuspend/": ["/operator/tenants/{tenant_a}/unsuspend/"],
    "operator/realms/<str:name>/test/": ["/operator/realms/{realm}/test/"],
    "operator/realms/<str:name>/sync/": ["/operator/realms/{realm}/sync/"],
    "operator/realms/<str:name>/dry-run/": ["/operator/realms/{realm}/dry-run/"],
    "operator/operations/<uuid:operation_id>/cancel/": [
        "/operator/operations/{operation_a}/cancel/"
    ],
    "operator/operations/<uuid:operation_id>/retry/": ["/operator/operations/{operation_a}/retry/"],
    "guests/<int:vmid>/console/": ["/guests/{guest_a}/console/"],
    "guests/<int:vmid>/console/ticket/": ["/guests/{guest_a}/console/ticket/"],
    "guests/<int:vmid>/console/<serial:serial>/": ["/guests/{guest_a}/console/serial0/"],
    "guests/<int:vmid>/console/<serial:serial>/ticket/": [
        "/guests/{guest_a}/console/serial0/ticket/"
    ],
    "clusters/<str:cluster>/nodes/<str:node>/shell/": ["/clusters/{cluster}/nodes/{node}/shell/"],
    "clusters/<str:cluster>/nodes/<str:node>/shell/ticket/": [
        "/clusters/{cluster}/nodes/{node}/shell/ticket/"
    ],
    "billing/webhooks/<str:event_id>/": ["/billing/webhooks/{event_a}/"],
    "api/v1/guests/<int:vmid>/": ["/api/v1/guests/{guest_a}/"],
    "api/v1/guests/<int:vmid>/status/<str:action>/": [
        "/api/v1/guests/{guest_a}/status/start/",
        "/api/v1/guests/{guest_a}/status/stop/",
    ],
    "api/v1/guests/<int:vmid>/resize/": ["/api/v1/guests/{guest_a}/resize/"],
    "api/v1/guests/<int:vmid>/clone/": ["/api/v1/guests/{guest_a}/clone/"],
    "api/v1/guests/<int:vmid>/reinstall/": ["/api/v1/guests/{guest_a}/reinstall/"],
    "api/v1/guests/<int:vmid>/snapshots/": ["/api/v1/guests/{guest_a}/snapshots/"],
    "api/v1/guests/<int:vmid>/snapshots/<str:name>/": [
        "/api/v1/guests/{guest_a}/snapshots/{snapshot_a}/"
    ],
    "api/v1/guests/<int:vmid>/snapshots/<str:name>/rollback/": [
        "/api/v1/guests/{guest_a}/snapshots/{snapshot_a}/rollback/"
    ],
    "api/v1/guests/<int:vmid>/backups/": ["/api/v1/guests/{guest_a}/backups/"],
    "api/v1/backups/<int:backup_id>/": [
        "/api/v1/backups/{backup_a}/",
        "/api/v1/backups/{orphan_backup_a}/",
    ],
    "api/v1/backups/<int:backup_id>/restore/": [
        "/api/v1/backups/{backup_a}/restore/",
        "/api/v1/backups/{orphan_backup_a}/restore/",
    ],
    "api/v1/backup-schedules/<int:schedule_id>/": ["/api/v1/backup-schedules/{schedule_a}/"],
    "api/v1/tenants/<str:slug>/quota/": ["/api/v1/tenants/{tenant_a}/quota/"],
    "api/v1/clusters/<slug:name>/": ["/api/v1/clusters/{cluster}/"],
    "api/v1/clusters/<slug:name>/sync/": ["/api/v1/clusters/{cluster}/sync/"],
    "api/v1/clusters/<slug:name>/test/": ["/api/v1/clusters/{cluster}/test/"],
    "api/v1/clusters/<slug:name>/nodes/": ["/api/v1/clusters/{cluster}/nodes/"],
    "api/v1/clusters/<slug:name>/nodes/<str:node>/": ["/api/v1/clusters/{cluster}/nodes/{node}/"],
    "api/v1/clusters/<slug:name>/nodes/<str:node>/maintenance/": [
        "/api/v1/clusters/{cluster}/nodes/{node}/maintenance/"
    ],
    "api/v1/operations/<uuid:operation_id>/": ["/api/v1/operations/{operation_a}/"],
    "api/v1/operations/<uuid:operation_id>/log/": ["/api/v1/operations/{operation_a}/log/"],
    "api/v1/operations/<uuid:operation_id>/cancel/": ["/api/v1/operations/{operation_a}/cancel/"],
}

# Routes whose parameters name no tenant's object.
NOT_TENANT_OBJECTS = {
    # A verb applied to each listed VMID, a foreign one refused as "no such guest":
    # tests/security/test_tenant_isolation.py::test_bulk_actions_refuse_foreign_guests_one_by_one
    "api/v1/guests/bulk/status/<str:action>/",
    # Secrets sent by e-mail: holding the key is the authorisation, there is no id to guess.
    r"accounts/^confirm-email/(?P<key>[-:\w]+)/$",
    r"accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
    # An OpenID Connect realm's sign-in, open to anyone before signing in: the realm's identity
    # provider decides who gets in, and only as a user of that realm.
    "accounts/oidc/^(?P<provider_id>[^/]+)/login/",
    "accounts/oidc/^(?P<provider_id>[^/]+)/login/callback/",
}

# The admin site sends everyone not staff to its login before any object is looked up, so its
# object routes are called with A's guest's VMID in place of every id (its app index and
# catch-all, regular expressions, name no object).
ADMIN_PREFIX = "admin/"

# The object of each placeholder when it does not exist, for the answer to compare with.
MISSING = {
    "guest_a": 999999,
    "snapshot_a": "no_such_snapshot",
    "backup_a": 999999,
    "orphan_backup_a": 999998,
    "schedule_a": 999999,
    "operation_a": uuid.UUID(int=1),
    "token_a": "no-such-token",
    "session_a": 999999,
    "user_a": "nobody@pve",
    "group_a": "a-nobody",
    "permission_a": 999999,
    "share_a": 999998,
    "pool_a": "no-such-pool",
    "tenant_a": "no-such-tenant",
    "event_a": "evt-missing",
    "cluster": "no-such-cluster",
    "node": "no-such-node",
    "storage": "no-such-storage",
    "realm": "no-such-realm",
}

# A form that every view would accept if the object were the caller's: what is refused is the
# object, not the input.
TAKEOVER = {
    "name": "taken-over",
    "notes": "taken over",
    "protected": "on",
    "enabled": "on",
    "plan": "s",
    "template": "9000",
    "schedule": "03:00",
    "storage": "local",
    "snapname": "taken_over",
    "members": ["bob@pve"],
    "user": "bob@pve",
    "role": "PVEVMAdmin",
    "propagate": "on",
    "confirm": "a-web",
    "maintenance": "true",
}
PAGE_METHODS = ["get", "post"]
API_METHODS = ["get", "post", "put", "patch", "delete"]


def _routes(patterns=None, prefix: str = ""):
    """Every URL pattern's route, as ResolverMatch.route spells it."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _routes_with_parameters() -> set[str]:
    return {route for route in _routes() if re.search(r"<|\(\?P<", route)}


def _admin_urls() -> list[str]:
    def with_guest(route: str) -> str:
        return "/" + re.sub(r"<(?:\w+:)?\w+>", "{guest_a}", route)

    return sorted(
        with_guest(route)
        for route in _routes_with_parameters()
        if route.startswith(ADMIN_PREFIX) and "(?P<" not in route
    )


@pytest.fixture
def world(db) -> dict:
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Node.objects.create(cluster=cluster, name="pve1", online=True)
    limits = Resources(guests=3, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=5)
    tenant_a = tenant_create(slug="a", name="A", limits=limits)
    tenant_b = tenant_create(slug="b", name="B", limits=limits)
    Plan.objects.create(name="S", slug="s", cores=1, memory_mb=512, disk_gb=8)
    Guest.objects.create(
        vmid=9000, cluster=cluster, node="pve1", type="qemu", template=True, name="debian12"
    )
    guests = {}
    for tenant, vmid in ((tenant_a, 100), (tenant_b, 200)):
        guests[tenant.slug] = Guest.objects.create(
            vmid=vmid,
            cluster=cluster,
            node="pve1",
            type="qemu",
            name=f"{tenant.slug}-web",
            status="running",
            tenant=tenant,
            pool=tenant.slug,
        )
        pool_set_guest(vmid=vmid, pool_name=tenant.slug)
    alice = tenant_admin_create(tenant=tenant_a, userid="alice@pve", password="x")
    amy = user_create(userid="amy@pve", password="x", tenant=tenant_a)
    bob = tenant_admin_create(tenant=tenant_b, userid="bob@pve", password="x")
    group = tenant_group_create(tenant=tenant_a, actor=alice, name="ops", members=["amy@pve"])
    acl_modify(path="/pool/a", roles=["PVEAuditor"], users=["amy@pve"])
    acl_modify(path="/vms/100", roles=["PVEVMUser"], users=["amy@pve"])
    token, _secret = token_create(user=alice, name="ci", privsep=False)
    session = UserSession.objects.create(user=alice, ip="192.0.2.1", session_key="a" * 32)
    backup = Backup.objects.create(
        cluster=cluster,
        tenant=tenant_a,
        guest=guests["a"],
        vmid=100,
        storage="local",
        volid="local:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst",
    )
    # A backup of a guest tenant A deleted: reached through A's pool, not a guest.
    orphan_backup = Backup.objects.create(
        cluster=cluster,
        tenant=tenant_a,
        vmid=300,
        storage="local",
        volid="local:backup/vzdump-qemu-300-2026_01_01-00_00_00.vma.zst",
    )
    schedule = BackupSchedule.objects.create(tenant=tenant_a, guest=guests["a"], schedule="02:30")
    operation = operation_create(
        kind="guest.start",
        cluster=cluster,
        guest=guests["a"],
        tenant=tenant_a,
        target="/vms/100",
        actor=Actor.system(),
        steps=[("guest_power", {"action": "start"})],
    )
    integration = Integration.objects.create(
        name="whmcs", principal=user_create(userid="billing@pve", password="x", is_staff=True)
    )
    event = BillingEvent.objects.create(integration=integration, event_id="evt-a", body_sha256="0")
    attacker = Client()
    attacker.force_login(bob)
    return {
        "attacker": attacker,
        "tenant_a": tenant_a,
        "ids": {
            "guest_a": 100,
            "guest_b": 200,
            "snapshot_a": "before_upgrade",
            "backup_a": backup.pk,
            "orphan_backup_a": orphan_backup.pk,
            "schedule_a": schedule.pk,
            "operation_a": operation.pk,
            "token_a": token.name,
            "session_a": session.pk,
            "user_a": amy.username,
            "group_a": group.name,
            "permission_a": AclEntry.objects.get(path="/pool/a", user=amy).pk,
            "share_a": AclEntry.objects.get(path="/vms/100", user=amy).pk,
            "pool_a": "a",
            "tenant_a": "a",
            "event_a": event.event_id,
            "cluster": cluster.name,
            "node": "pve1",
            "storage": "local",
            "realm": "pve",
        },
    }


def _state_of(tenant: Tenant) -> dict:
    """What a foreign caller could change: A's rows, and anything a request would record."""
    return {
        "guests": list(Guest.objects.filter(tenant=tenant).order_by("pk").values()),
        "backups": list(Backup.objects.filter(tenant=tenant).order_by("pk").values()),
        "schedules": list(BackupSchedule.objects.filter(tenant=tenant).order_by("pk").values()),
        "operations": list(Operation.objects.order_by("pk").values()),
        "users": list(User.objects.order_by("pk").values("username", "is_active", "tenant")),
        "groups": list(Group.objects.order_by("name").values_list("name", "members__username")),
        "acl": list(AclEntry.objects.order_by("pk").values()),
        "tokens": list(ApiToken.objects.order_by("pk").values("pk", "name")),
        "sessions": list(UserSession.objects.filter(user__tenant=tenant).values("pk")),
        "tenants": list(Tenant.objects.order_by("pk").values("slug", "status")),
        "nodes": list(Node.objects.order_by("pk").values("name", "maintenance")),
        "audit events": AuditEvent.objects.count(),
        "console tickets": ConsoleTicket.objects.count(),
    }


def _answers(client: Client, url: str) -> dict[str, int]:
    api = url.startswith("/api/")
    answers = {}
    for method in API_METHODS if api else PAGE_METHODS:
        if method == "get":
            response = client.get(url)
        elif api:
            response = getattr(client, method)(url, TAKEOVER, content_type="application/json")
        else:
            response = client.post(url, TAKEOVER)
        answers[method] = response.status_code
    return answers


def _expected_refusals(route: str) -> set[int]:
    if route == "billing/webhooks/<str:event_id>/":
        return {401, 405}  # signed by the billing system or nothing, whoever is signed in
    return {404, 405}


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_foreign_objects_answer_like_missing_ones_and_change_nothing(world, route) -> None:
    before = _state_of(world["tenant_a"])
    for template in MATRIX[route]:
        foreign_url = template.format(**world["ids"])
        missing_url = template.format(**{**world["ids"], **MISSING})
        foreign = _answers(world["attacker"], foreign_url)
        assert foreign == _answers(world["attacker"], missing_url), foreign_url
        assert set(foreign.values()) <= _expected_refusals(route), (foreign_url, foreign)
        assert set(foreign.values()) - {405}, f"{foreign_url}: no method reached the view"
    assert _state_of(world["tenant_a"]) == before


def test_the_admin_site_sends_tenant_users_to_its_login(world) -> None:
    before = _state_of(world["tenant_a"])
    for template in _admin_urls():
        url = template.format(**world["ids"])
        for method in PAGE_METHODS:
            response = getattr(world["attacker"], method)(url, TAKEOVER)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url
    assert _state_of(world["tenant_a"]) == before


def test_every_object_route_is_in_the_matrix() -> None:
    """Each matrix URL reaches its route (a typo would test another view), and every route with
    a parameter is in the matrix, on the admin site, or names no tenant's object."""
    placeholders = MISSING | {"guest_b": 200}
    misrouted = {
        url: resolve(url.format(**placeholders)).route
        for route, urls in MATRIX.items()
        for url in urls
        if resolve(url.format(**placeholders)).route != route
    }
    assert misrouted == {}
    admin_routes = {route for route in _routes_with_parameters() if route.startswith(ADMIN_PREFIX)}
    assert len(_admin_urls()) > 50
    unlisted = _routes_with_parameters() - MATRIX.keys() - NOT_TENANT_OBJECTS - admin_routes
    assert unlisted == set()
    assert _routes_with_parameters() >= NOT_TENANT_OBJECTS  # no stale allow-list entries
