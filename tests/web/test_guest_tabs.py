"""The guest page's tabs (graphs, snapshots, backups) and the tenant's backups page: each tab
renders for the owner and is missing for another tenant; forms call the services, and bad input
shows the refusal and changes nothing; the guest page's query count does not grow. Most tests
need no PVE (nothing reaches a worker: non-transactional tests never commit); the graphs and
the snapshot tree are read from pvesim."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils.formats import date_format
from django.utils.timezone import localtime

from apps.access.services import pool_set_guest
from apps.backups.models import Backup, BackupSchedule
from apps.backups.services import tenant_backup_storage_set
from apps.clusters.models import Node, Storage
from apps.guests.charts import guest_charts
from apps.guests.models import Guest
from apps.guests.services.metrics import GuestMetrics
from apps.identity.models import Realm
from apps.operations.models import Operation
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set, tenant_admin_create, tenant_create
from tests.guests.conftest import cloned_vmid, cluster, wait_for_task
from tests.web.test_pages import queries, with_operations

__all__ = ["cloned_vmid", "cluster"]  # fixtures

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def vm(portal) -> Guest:
    """ACME's running VM 1001 (plan small) on pve1, whose backups go to `local`. Its cluster
    refuses connections: what the tabs read from PVE fails as it does when PVE is down."""
    portal.cluster.api_addresses = ["127.0.0.1:9"]
    portal.cluster.fingerprint = "AB" * 32
    portal.cluster.save()
    node = Node.objects.create(cluster=portal.cluster, name="pve1", online=True)
    Storage.objects.create(
        cluster=portal.cluster,
        node=node,
        storage="local",
        type="dir",
        content=["backup", "iso"],
        available=True,
    )
    tenant_backup_storage_set(tenant=portal.acme, storage="local")
    quota_set(
        tenant=portal.acme,
        limits=Resources(
            guests=3, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=5, backup_gb=100
        ),
    )
    guest = portal.add_guests(2)[1]
    guest.node = "pve1"
    guest.save(update_fields=["node"])
    return guest


def a_backup(guest: Guest, *, protected: bool = False, **values) -> Backup:
    stamp = values.pop("ctime", datetime(2026, 11, 1, 2, 30, tzinfo=UTC))
    return Backup.objects.create(
        cluster=guest.cluster,
        tenant=guest.tenant,
        guest=guest,
        plan=guest.plan,
        vmid=guest.vmid,
        guest_type=guest.type,
        guest_name=guest.name,
        cores=1,
        memory_mb=512,
        disk_gb=5,
        node=guest.node,
        storage="local",
        volid=f"local:backup/vzdump-qemu-{guest.vmid}-{stamp:%Y_%m_%d-%H_%M_%S}.vma.zst",
        size=3 * 1024**3,
        ctime=stamp,
        protected=protected,
        **values,
    )


def step_params(operation: Operation) -> dict:
    (params,) = operation.params["steps"]
    return params


def prefixed(prefix: str, values: dict) -> dict:
    """A form's fields as posted: the forms of the guest page carry a prefix each."""
    return {f"{prefix}-{name}": value for name, value in values.items()}


def operations(kind: str) -> int:
    return Operation.objects.filter(kind=kind).count()


# The guest page and its tabs ----------------------------------------------------------------


def test_the_guest_page_loads_its_tabs_lazily_and_opens_the_one_asked_for(portal, vm) -> None:
    page = portal.client.get(f"/guests/{vm.vmid}/?tab=backups").content.decode()
    for tab in ("graphs", "snapshots", "backups"):
        assert f'hx-get="/guests/{vm.vmid}/{tab}/" hx-trigger="intersect once"' in page
    assert 'class="tab-pane active" id="pane-backups"' in page
    assert 'class="tab-pane" id="pane-overview"' in page
    default = portal.client.get(f"/guests/{vm.vmid}/?tab=nonsense").content.decode()
    assert 'class="tab-pane active" id="pane-overview"' in default


def test_the_guest_page_costs_the_same_queries_with_its_tabs(portal) -> None:
    with_operations(portal, portal.add_guests(10))
    assert queries(portal.client, "/guests/1000/?tab=backups") == 12


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/guests/200/graphs/"),
        ("get", "/guests/200/snapshots/"),
        ("post", "/guests/200/snapshots/new/"),
        ("post", "/guests/200/snapshots/before/rollback/"),
        ("post", "/guests/200/snapshots/before/delete/"),
        ("get", "/guests/200/backups/"),
        ("post", "/guests/200/backups/new/"),
        ("post", "/guests/200/schedules/new/"),
        ("get", "/backups/{foreign_backup}/restore/"),
        ("post", "/backups/{foreign_backup}/restore/"),
        ("post", "/backups/{foreign_backup}/notes/"),
        ("post", "/backups/{foreign_backup}/protection/"),
        ("post", "/backups/{foreign_backup}/delete/"),
        ("post", "/guests/200/schedules/{foreign_schedule}/"),
        ("post", "/guests/200/schedules/{foreign_schedule}/toggle/"),
        ("post", "/guests/200/schedules/{foreign_schedule}/delete/"),
        ("post", "/guests/1001/schedules/{foreign_schedule}/delete/"),
    ],
)
def test_another_tenants_tabs_backups_and_schedules_are_missing(portal, vm, method, url) -> None:
    foreign = portal.foreign
    backup = a_backup(foreign)
    schedule = BackupSchedule.objects.create(tenant=portal.other, guest=foreign, schedule="02:30")
    url = url.format(foreign_backup=backup.pk, foreign_schedule=schedule.pk)
    before = Operation.objects.count()
    assert getattr(portal.client, method)(url).status_code == 404
    assert Operation.objects.count() == before
    assert BackupSchedule.objects.filter(pk=schedule.pk).exists()


# Graphs -------------------------------------------------------------------------------------


def test_graphs_say_clearly_when_the_cluster_does_not_answer(portal, vm) -> None:
    response = portal.client.get(f"/guests/{vm.vmid}/graphs/?timeframe=day", **HX)
    assert response.status_code == 503
    text = response.content.decode()
    assert "The guest&#x27;s cluster did not answer" in text
    assert "<html" not in text  # the panel alone, for htmx
    assert 'aria-current="true"' in text
    assert ">Day<" in text


def test_charts_draw_each_stretch_of_data_and_leave_the_gaps() -> None:
    start = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    metrics = GuestMetrics(
        timeframe="hour",
        moments=[start + timedelta(minutes=n) for n in range(5)],
        cpu=[0.5, 0.25, None, 0.1, 0.2],
        vcpus=2.0,
        memory=[None] * 5,
        memory_max=2 * 1024**3,
        net_in=[1000.0, 2000.0, None, None, 1500.0],
        net_out=[10.0, 20.0, None, None, 15.0],
        disk_read=[0.0] * 5,
        disk_write=[0.0] * 5,
    )
    cpu, memory, network, disk = guest_charts(metrics)
    assert cpu.title == "CPU (share of 2 vCPUs)"
    assert cpu.top == "50 %"  # a round top above the peak
    assert cpu.lines[0].segments == ["0.0,0.0 150.0,60.0", "450.0,96.0 600.0,72.0"]
    assert cpu.lines[0].latest == "20 %"
    assert memory.empty
    assert memory.top == "2.0 GiB"
    assert memory.lines[0].latest == "—"
    assert [line.label for line in network.lines] == ["In", "Out"]
    assert network.top == "2.0 KiB/s"
    assert network.lines[0].segments[1] == "600.0,32.1 600.0,32.1"  # a lone sample still shows
    assert not disk.empty
    assert disk.top == "1 B/s"


# Snapshots ----------------------------------------------------------------------------------


def test_snapshot_refusals_show_in_the_form_and_change_nothing(portal, vm) -> None:
    url = f"/guests/{vm.vmid}/snapshots/new/"
    response = portal.client.post(url, {"snapshot-name": "9lives"})
    assert response.status_code == 400
    assert "a letter, then letters, digits" in response.content.decode()

    # The plan allows none.
    response = portal.client.post(url, {"snapshot-name": "before"})
    assert response.status_code == 400
    assert "plan &#x27;small&#x27; allows 0 snapshot(s)" in response.content.decode()

    portal.small.snapshots = 2
    portal.small.save()
    quota_set(tenant=portal.acme, limits=Resources(guests=30, vcpus=40, memory_mb=40960))
    response = portal.client.post(url, {"snapshot-name": "before"})
    assert response.status_code == 409
    assert "quota exceeded (snapshots" in response.content.decode()

    Guest.objects.filter(pk=vm.pk).update(lock="backup")
    response = portal.client.post(url, {"snapshot-name": "before"})
    assert "locked on PVE (backup): a backup is running" in response.content.decode()
    assert operations("guest.snapshot") == 0


def test_taking_a_snapshot_starts_the_operation_and_returns_to_the_tab(portal, vm) -> None:
    portal.small.snapshots = 2
    portal.small.save()
    response = portal.client.post(
        f"/guests/{vm.vmid}/snapshots/new/",
        {
            "snapshot-name": "before",
            "snapshot-description": "pre-upgrade",
            "snapshot-vmstate": "on",
        },
    )
    assert response.status_code == 302
    assert response.url == f"/guests/{vm.vmid}/?tab=snapshots#tabs"
    operation = Operation.objects.get(kind="guest.snapshot", guest=vm)
    assert operation.params["steps"] == [
        {
            "name": "before",
            "description": "pre-upgrade",
            "vmstate": True,
        }
    ]


def test_rolling_back_to_an_unknown_snapshot_is_missing(portal, vm) -> None:
    response = portal.client.post(f"/guests/{vm.vmid}/snapshots/nothere/rollback/")
    assert response.status_code == 404
    assert operations("guest.rollback") == 0


# Backups ------------------------------------------------------------------------------------


def test_the_backups_tab_lists_backups_schedules_and_the_plans_limit(portal, vm) -> None:
    portal.small.backups = 3
    portal.small.save()
    a_backup(vm, protected=True, notes="before the upgrade")
    a_backup(vm, ctime=datetime(2026, 11, 2, 2, 30, tzinfo=UTC))
    a_backup(portal.foreign)
    next_run = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    BackupSchedule.objects.create(
        tenant=portal.acme,
        guest=vm,
        schedule="mon..fri 22:00",
        keep_daily=3,
        next_run_at=next_run,
    )
    response = portal.client.get(f"/guests/{vm.vmid}/backups/", **HX)
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text
    assert text.count("data-backup=") == 2
    assert "2 of 3 backups your plan allows" in text
    assert "protected</span>before the upgrade" in text
    assert "3.0\xa0GB" in text
    assert "mon..fri 22:00" in text
    assert "keep-daily=3" in text
    assert date_format(localtime(next_run), "SHORT_DATETIME_FORMAT") in text
    assert "*/6:00" in text  # the calendar syntax explained
    assert "every 2s" not in text  # nothing in flight: no polling

    page = portal.client.get(f"/guests/{vm.vmid}/backups/")
    assert "<html" in page.content.decode()  # its own page without htmx


def test_back_up_now_calls_the_service_and_bad_input_changes_nothing(portal, vm) -> None:
    url = f"/guests/{vm.vmid}/backups/new/"
    response = portal.client.post(url, {"backup-mode": "hibernate"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    response = portal.client.post(url, {"backup-mode": "snapshot"})
    assert response.status_code == 400
    assert "plan &#x27;small&#x27; allows 0 backup(s)" in response.content.decode()
    assert operations("guest.backup") == 0

    portal.small.backups = 2
    portal.small.save()
    response = portal.client.post(
        url, {"backup-mode": "stop", "backup-notes": "weekly", "backup-protected": "on"}
    )
    assert response.status_code == 302
    assert response.url == f"/guests/{vm.vmid}/?tab=backups#tabs"
    assert step_params(Operation.objects.get(kind="guest.backup")) == {
        "storage": "local",
        "mode": "stop",
        "notes": "weekly",
        "protected": True,
    }
    panel = portal.client.get(f"/guests/{vm.vmid}/backups/", **HX).content.decode()
    assert 'hx-trigger="every 2s"' in panel
    assert "Back up: in progress" in panel


def test_notes_protection_and_delete_call_the_services(portal, vm) -> None:
    backup = a_backup(vm)
    response = portal.client.post(f"/backups/{backup.pk}/notes/", {"notes": "keep me"})
    assert response.url == f"/guests/{vm.vmid}/?tab=backups#tabs"
    assert step_params(Operation.objects.get(kind="backup.update")) == {
        "volid": backup.volid,
        "notes": "keep me",
    }
    Operation.objects.all().delete()
    portal.client.post(f"/backups/{backup.pk}/protection/", {"protected": "true"})
    assert step_params(Operation.objects.get(kind="backup.update"))["protected"] is True
    Operation.objects.all().delete()
    portal.client.post(f"/backups/{backup.pk}/delete/")
    assert operations("backup.delete") == 1


def test_deleting_a_protected_backup_is_refused_clearly(portal, vm) -> None:
    backup = a_backup(vm, protected=True)
    response = portal.client.post(f"/backups/{backup.pk}/delete/", follow=True)
    assert "is protected: remove the protection to delete it" in response.content.decode()
    response = portal.client.post(f"/backups/{backup.pk}/notes/", {"notes": "x" * 1025})
    assert operations("backup.delete") + operations("backup.update") == 0


def test_schedules_are_added_edited_switched_and_deleted(portal, vm) -> None:
    url = f"/guests/{vm.vmid}/schedules/new/"
    keep = {f"keep_{period}": 0 for period in ("hourly", "weekly", "monthly", "yearly")}
    response = portal.client.post(
        url,
        prefixed(
            "schedule",
            {
                "schedule": "mon..fri 22:00",
                "mode": "snapshot",
                "keep_last": 2,
                "keep_daily": 5,
                "enabled": "on",
                **keep,
            },
        ),
    )
    assert response.status_code == 302
    schedule = BackupSchedule.objects.get(guest=vm)
    assert (schedule.schedule, schedule.keep_last, schedule.keep_daily) == ("mon..fri 22:00", 2, 5)
    assert schedule.owner == portal.alice
    assert schedule.next_run_at is not None

    edit = f"/guests/{vm.vmid}/schedules/{schedule.pk}/"
    values = {
        "schedule": "*/6:00",
        "mode": "stop",
        "keep_last": 4,
        "keep_daily": 0,
        "enabled": "on",
        **keep,
    }
    response = portal.client.post(edit, prefixed(f"schedule-{schedule.pk}", values))
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.schedule, schedule.mode, schedule.keep_last) == ("*/6:00", "stop", 4)

    portal.client.post(f"{edit}toggle/")
    schedule.refresh_from_db()
    assert not schedule.enabled
    assert schedule.next_run_at is None
    panel = portal.client.get(f"/guests/{vm.vmid}/backups/", **HX).content.decode()
    assert "disabled" in panel
    assert ">Enable<" in panel

    portal.client.post(f"{edit}delete/")
    assert not BackupSchedule.objects.filter(pk=schedule.pk).exists()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"schedule": "someday"}, "someday"),
        ({"schedule": "02:30", "mode": "hibernate"}, "Select a valid choice"),
        ({"schedule": "02:30", "keep_last": -1}, "greater than or equal to 0"),
        ({"schedule": ""}, "This field is required"),
    ],
)
def test_a_bad_schedule_shows_its_error_and_is_not_saved(portal, vm, values, message) -> None:
    data = {"mode": "snapshot", "enabled": "on"}
    data.update(
        {f"keep_{p}": 0 for p in ("last", "hourly", "daily", "weekly", "monthly", "yearly")}
    )
    data.update(values)
    response = portal.client.post(f"/guests/{vm.vmid}/schedules/new/", prefixed("schedule", data))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BackupSchedule.objects.exists()


# Restore ------------------------------------------------------------------------------------


def test_restore_to_a_new_guest_creates_it_from_the_backup(portal, vm) -> None:
    backup = a_backup(vm)
    page = portal.client.get(f"/backups/{backup.pk}/restore/").content.decode()
    assert "Restore to a new guest" in page
    assert "Restore over this guest" in page
    assert "everything it has now that the backup does not is lost" in page

    response = portal.client.post(
        f"/backups/{backup.pk}/restore/", {"target": "new", "name": "web-copy", "plan": "small"}
    )
    assert response.status_code == 302
    operation = Operation.objects.get(kind="guest.create")
    assert operation.guest.name == "web-copy"
    assert response.url == f"/guests/{operation.guest.vmid}/"
    assert {"volid": backup.volid, "node": "pve1"} in operation.params["steps"]


def test_restore_refusals_show_on_the_page_and_change_nothing(portal, vm) -> None:
    backup = a_backup(vm)
    url = f"/backups/{backup.pk}/restore/"
    response = portal.client.post(url, {"target": "new", "name": "bad name!", "plan": "small"})
    assert response.status_code == 400
    response = portal.client.post(url, {"target": "same", "confirm": "web-1000"})
    assert response.status_code == 400
    assert f"type the guest&#x27;s name, &#x27;{vm.name}&#x27;, to confirm" in (
        response.content.decode()
    )
    quota_set(tenant=portal.acme, limits=Resources(guests=2, vcpus=40, memory_mb=40960))
    response = portal.client.post(url, {"target": "new", "name": "web-copy", "plan": "small"})
    assert response.status_code == 409
    assert "quota exceeded (guests" in response.content.decode()
    assert Operation.objects.count() == 0


def test_restore_over_the_guest_needs_its_name_typed(portal, vm) -> None:
    backup = a_backup(vm)
    response = portal.client.post(
        f"/backups/{backup.pk}/restore/", {"target": "same", "confirm": vm.name}
    )
    assert response.status_code == 302
    operation = Operation.objects.get(kind="guest.restore")
    assert [s.name for s in operation.steps.all()] == [
        "guest_power",
        "guest_restore",
        "guest_power",
    ]


# The tenant's backups page ------------------------------------------------------------------


def test_the_backups_page_lists_the_tenants_backups_those_of_deleted_guests_too(portal, vm) -> None:
    a_backup(vm, notes="live one")
    gone = a_backup(vm, ctime=datetime(2026, 10, 1, tzinfo=UTC), notes="of a deleted guest")
    Backup.objects.filter(pk=gone.pk).update(guest=None)
    a_backup(portal.foreign, notes="foreign")
    response = portal.client.get("/backups/")
    text = response.content.decode()
    assert "live one" in text
    assert "of a deleted guest" in text
    assert "foreign" not in text
    assert "deleted</span>" in text
    assert f'href="/backups/{gone.pk}/restore/"' in text
    assert 'aria-current="page" href="/backups/"' in text  # in the navigation
    restore = portal.client.get(f"/backups/{gone.pk}/restore/").content.decode()
    assert "Restore to a new guest" in restore
    assert "Restore over this guest" not in restore


def test_a_client_without_a_login_is_sent_to_sign_in(portal, vm) -> None:
    for url in (f"/guests/{vm.vmid}/graphs/", f"/guests/{vm.vmid}/backups/", "/backups/"):
        assert Client().get(url).status_code == 302


# Read from PVE (pvesim) ---------------------------------------------------------------------


@pytest.fixture
def sim_vm(transactional_db, cluster, cloned_vmid) -> tuple[Client, Guest]:
    """A VM on pvesim (no plan) in ACME's pool, and its admin's browser."""
    # Transactional tests empty every table: put back the realm migrations make.
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    limits = Resources(guests=3, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=5)
    acme = tenant_create(slug="acme", name="ACME", limits=limits)
    alice = tenant_admin_create(tenant=acme, userid="alice@pve", password="x")
    guest = Guest.objects.create(
        vmid=cloned_vmid,
        cluster=cluster,
        node="pve1",
        type="qemu",
        name=f"vm{cloned_vmid}",
        status="stopped",
        tenant=acme,
        pool=acme.slug,
    )
    pool_set_guest(vmid=guest.vmid, pool_name=acme.slug)
    client = Client()
    client.force_login(alice)
    return client, guest


def test_the_snapshot_tab_shows_pves_tree_with_the_present_marked(sim_vm, pvesim_root) -> None:
    client, guest = sim_vm
    api = pvesim_root.nodes("pve1").qemu(guest.vmid)
    for name in ("base", "upgraded"):
        wait_for_task(pvesim_root, api.snapshot.post(snapname=name, description=f"{name} state"))
    text = client.get(f"/guests/{guest.vmid}/snapshots/", **HX).content.decode()
    base = text.index('data-snapshot="base"')
    upgraded = text.index('data-snapshot="upgraded"')
    now = text.index("data-snapshot-current")
    assert base < upgraded < now
    assert "calc(1 * 1.5rem" in text[upgraded:now]  # a child, under its parent
    assert "calc(2 * 1.5rem" in text[now:]  # the present, under the latest snapshot
    assert "upgraded state" in text
    assert "2 snapshots." in text  # no plan, no limit
    assert "Include the RAM state" not in text  # the VM is stopped


def test_the_graphs_tab_draws_pves_rrd_statistics(sim_vm, pvesim_root) -> None:
    client, guest = sim_vm
    response = client.get(f"/guests/{guest.vmid}/graphs/?timeframe=week", **HX)
    assert response.status_code == 200
    text = response.content.decode()
    for chart in ("cpu", "memory", "network", "disk"):
        assert f'data-chart="{chart}"' in text
    memory_mb = int(pvesim_root.nodes("pve1").qemu(guest.vmid).config.get()["memory"])
    assert f'<span class="chart-top small text-body-secondary">{memory_mb // 1024}.0 GiB' in text
    # A stopped guest has no samples: PVE leaves its values out.
    assert text.count("No data in this timeframe.") == 4
    assert 'aria-current="true"' in text
