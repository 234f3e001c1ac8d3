"""PVE names backup volumes by VMID alone, so a VMID whose backups are kept is given to no new
guest, and a deleted guest's backups never pass to a later guest with its VMID."""

from apps.backups.models import Backup
from apps.backups.services.mirror import backups_mirror
from apps.guests.models import Guest
from apps.proxmox.backups import BackupVolume
from apps.tenancy.models import Tenant
from tests.backups.conftest import back_up, make_vm, run


def test_a_new_guest_does_not_get_the_vmid_of_a_deleted_guest_with_kept_backups(
    admin_api, acme, small, worker
) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm)
    run(admin_api.delete(f"/api/v1/guests/{vm.vmid}/"))
    assert not Guest.objects.filter(vmid=vm.vmid).exists()

    successor = make_vm(admin_api, name="web2")

    assert successor.vmid != vm.vmid
    assert not admin_api.get(f"/api/v1/backups/?vmid={successor.vmid}").json()


def test_a_deleted_guests_backup_stays_its_tenants_when_its_vmid_returns(
    acme, small, cluster
) -> None:
    """Backups kept from before VMIDs were held back: mirroring the new guest's backups leaves
    the old owner's backup where it was."""
    other = Tenant.objects.create(name="Other", slug="other-tenant")
    kept = Backup.objects.create(
        cluster=cluster,
        tenant=other,
        vmid=4242,
        storage="local",
        volid="local:backup/vzdump-qemu-4242-2026_01_01-00_00_00.vma.zst",
    )
    newcomer = Guest.objects.create(
        vmid=4242, cluster=cluster, node="pve1", type="qemu", tenant=acme, plan=small
    )
    volume = BackupVolume(
        volid=kept.volid,
        format="vma.zst",
        size=2**30,
        ctime=0,
        vmid=4242,
        notes="",
        protected=False,
    )

    backups_mirror(guest=newcomer, storage="local", listing=[volume])

    kept.refresh_from_db()
    assert (kept.tenant, kept.guest, kept.size) == (other, None, 2**30)
