"""The storage content sync: every backup storage of a cluster is listed, and the tenants'
backups PVE has are mirrored, whoever made them (the portal, a PVE backup job, an admin)."""

from apps.backups.services.mirror import storage_backups_mirror
from apps.clusters.models import Cluster, Storage
from apps.clusters.services import client_for
from apps.proxmox import backups as pve_backups


def backups_sync(*, cluster: Cluster) -> int:
    """Mirror every backup storage (a shared one once, through the first node that has it);
    returns how many backups were new to the portal."""
    client = client_for(cluster)
    added, seen_shared = 0, set()
    storages = Storage.objects.filter(
        cluster=cluster, available=True, vanished_at__isnull=True
    ).select_related("node")
    for storage in storages:
        if "backup" not in storage.content or storage.storage in seen_shared:
            continue
        if storage.shared:
            seen_shared.add(storage.storage)
        listing = pve_backups.backups_list(client, node=storage.node.name, storage=storage.storage)
        added += storage_backups_mirror(
            cluster=cluster,
            node=storage.node.name,
            storage=storage.storage,
            listing=listing,
            shared=storage.shared,
        )
    return added
