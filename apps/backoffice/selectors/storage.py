"""One storage's content as the portal mirrors it: ISO images, CT templates and backups."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404

from apps.backups.models import Backup
from apps.clusters.models import Cluster, Storage
from apps.guests.models import Image


@dataclass(frozen=True)
class StorageContent:
    cluster: Cluster
    name: str
    # PVE lists a storage once per node that has it (a shared one under every node).
    per_node: list[Storage]
    isos: list[Image]
    ct_templates: list[Image]
    backups: QuerySet[Backup]


def storage_content(*, cluster_name: str, storage_name: str) -> StorageContent:
    rows = list(
        Storage.objects.filter(cluster__name=cluster_name, storage=storage_name)
        .select_related("cluster", "node")
        .order_by("node__name")
    )
    if not rows:
        raise Http404("no such storage")
    cluster = rows[0].cluster
    images = list(Image.objects.filter(cluster=cluster, storage=storage_name))
    backups = (
        Backup.objects.filter(cluster=cluster, storage=storage_name, vanished_at__isnull=True)
        .select_related("tenant")
        .order_by("-ctime", "volid")
    )
    return StorageContent(
        cluster=cluster,
        name=storage_name,
        per_node=rows,
        isos=[image for image in images if image.content == Image.Content.ISO],
        ct_templates=[image for image in images if image.content == Image.Content.VZTMPL],
        backups=backups,
    )
