"""/readyz: every registered cluster answers its API with the portal's token."""

from apps.clusters.models import Cluster
from apps.clusters.services import client_for
from apps.proxmox import inventory
from apps.proxmox.errors import ProxmoxError


def check_clusters() -> None:
    failing = []
    for cluster in Cluster.objects.all():
        try:
            inventory.version_get(client_for(cluster))
        except ProxmoxError as error:
            failing.append(f"{cluster.name}: {error.message}")
    if failing:
        raise RuntimeError("; ".join(failing))
