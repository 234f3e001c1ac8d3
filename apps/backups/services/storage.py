"""Where a tenant's backups go. PVE's vzdump asks for Datastore.AllocateSpace on the target
storage; choosing a tenant's backup storage grants its group PVEDatastoreUser there, so the
portal's check and PVE's agree without hiding the grant."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.services import acl_modify
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.clusters.models import Storage
from apps.tenancy.models import Tenant


def check_backup_storage(storage: str) -> None:
    """A storage some cluster has that takes backups ('' for none chosen)."""
    if storage and not any(
        "backup" in s.content for s in Storage.objects.filter(storage=storage, vanished_at=None)
    ):
        raise ValidationError({"backup_storage": f"no storage '{storage}' takes backups"})


def tenant_backup_storage_set(*, tenant: Tenant, storage: str, actor: Actor = SYSTEM) -> None:
    """Send the tenant's backups to `storage` ('' goes back to the plan's choice)."""
    check_backup_storage(storage)
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(backup_storage=storage)
        tenant.backup_storage = storage
        if storage:
            acl_modify(
                path=f"/storage/{storage}",
                roles=["PVEDatastoreUser"],
                groups=[tenant.slug],
                actor=actor,
            )
        audit_record(
            action="backups.tenant_storage_set",
            actor=actor,
            target=f"/pool/{tenant.slug}",
            detail={"storage": storage},
        )
