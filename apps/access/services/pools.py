"""Resource pools: guests (by VMID) and storages grouped for permissions."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.compiled import access_changed
from apps.access.models import AclEntry, Pool, PoolGuest, PoolStorage
from apps.audit.services import SYSTEM, Actor, audit_record
from pvecore.ids import is_valid_pool_name
from pvecore.volumes import is_valid_storage_id


def _target(name: str) -> str:
    return f"/pool/{name}"


def _checked_members(vmids: Iterable[int], storages: Iterable[str]) -> tuple[list[int], list[str]]:
    vmid_list = sorted(set(vmids))
    storage_list = sorted(set(storages))
    for vmid in vmid_list:
        if vmid < 1:
            raise ValidationError({"vms": f"invalid VMID '{vmid}'"})
    for storage in storage_list:
        if not is_valid_storage_id(storage):
            raise ValidationError({"storage": f"invalid storage ID '{storage}'"})
    return vmid_list, storage_list


def _add_members(pool: Pool, vmids: list[int], storages: list[str], *, allow_move: bool) -> None:
    for guest in PoolGuest.objects.select_related("pool").filter(vmid__in=vmids):
        if guest.pool_id != pool.pk and not allow_move:
            raise ValidationError({"vms": f"VM {guest.vmid} is already a pool member"})
    PoolGuest.objects.filter(vmid__in=vmids).exclude(pool=pool).delete()
    present = set(pool.guests.values_list("vmid", flat=True))
    PoolGuest.objects.bulk_create(PoolGuest(pool=pool, vmid=v) for v in vmids if v not in present)
    present_storages = set(pool.storages.values_list("storage", flat=True))
    PoolStorage.objects.bulk_create(
        PoolStorage(pool=pool, storage=s) for s in storages if s not in present_storages
    )


def pool_create(
    *,
    name: str,
    comment: str = "",
    vmids: Iterable[int] = (),
    storages: Iterable[str] = (),
    actor: Actor = SYSTEM,
) -> Pool:
    if not is_valid_pool_name(name):
        raise ValidationError({"poolid": f"pool name '{name}' contains invalid characters"})
    vmid_list, storage_list = _checked_members(vmids, storages)
    with transaction.atomic():
        if Pool.objects.filter(name=name).exists():
            raise ValidationError({"poolid": f"pool '{name}' already exists"})
        parent = name.rpartition("/")[0]
        if parent and not Pool.objects.filter(name=parent).exists():
            raise ValidationError({"poolid": f"parent pool '{parent}' does not exist"})
        pool = Pool.objects.create(name=name, comment=comment)
        _add_members(pool, vmid_list, storage_list, allow_move=False)
        audit_record(
            action="access.pool_created",
            actor=actor,
            target=_target(name),
            detail={"vms": vmid_list, "storage": storage_list, "comment": comment},
        )
        access_changed()
    return pool


def pool_modify(
    *,
    pool: Pool,
    comment: str | None = None,
    vmids: Iterable[int] = (),
    storages: Iterable[str] = (),
    delete: bool = False,
    allow_move: bool = False,
    actor: Actor = SYSTEM,
) -> Pool:
    """Add the listed members, or remove them with `delete` (`pveum pool modify`).

    A guest in another pool is refused unless `allow_move`, as in PVE.
    """
    vmid_list, storage_list = _checked_members(vmids, storages)
    with transaction.atomic():
        if comment is not None:
            pool.comment = comment
            pool.save(update_fields=["comment"])
        if delete:
            pool.guests.filter(vmid__in=vmid_list).delete()
            pool.storages.filter(storage__in=storage_list).delete()
        else:
            _add_members(pool, vmid_list, storage_list, allow_move=allow_move)
        audit_record(
            action="access.pool_modified",
            actor=actor,
            target=_target(pool.name),
            detail={
                "vms": vmid_list,
                "storage": storage_list,
                "delete": delete,
                "comment": comment,
            },
        )
        access_changed()
    return pool


def pool_delete(*, pool: Pool, actor: Actor = SYSTEM) -> None:
    """Delete an empty pool and the ACL entries on its path (PVE's `delete_pool_acl`)."""
    with transaction.atomic():
        if pool.guests.exists() or pool.storages.exists():
            raise ValidationError({"poolid": f"pool '{pool.name}' is not empty"})
        if Pool.objects.filter(name__startswith=f"{pool.name}/").exists():
            raise ValidationError({"poolid": f"pool '{pool.name}' has sub-pools"})
        name = pool.name
        pool.delete()
        removed, _ = AclEntry.objects.filter(path=_target(name)).delete()
        audit_record(
            action="access.pool_deleted",
            actor=actor,
            target=_target(name),
            detail={"acl_entries_removed": removed},
        )
        access_changed()


def pool_set_guest(*, vmid: int, pool_name: str) -> None:
    """Mirror one guest's pool as PVE has it ('' = no pool), creating the pool if needed.

    Pool grants reach a guest only through this membership, so guest creation, adoption and
    deletion keep it in step with PVE.
    """
    with transaction.atomic():
        current = PoolGuest.objects.select_related("pool").filter(vmid=vmid).first()
        if (current.pool.name if current else "") == pool_name:
            return
        if current is not None:
            current.delete()
        if pool_name:
            pool, _created = Pool.objects.get_or_create(name=pool_name)
            PoolGuest.objects.create(pool=pool, vmid=vmid)
        access_changed()
