"""/readyz: every registered cluster answers its API with the portal's token."""

from dataclasses import replace

from apps.clusters.models import Cluster
from apps.clusters.services import endpoint_of
from apps.proxmox import inventory
from apps.proxmox.client import PveClient
from apps.proxmox.errors import ProxmoxError

# A probe must answer quickly even when a cluster does not.
PROBE_TIMEOUT_SECONDS = 3


def check_clusters() -> None:
    failing = []
    for cluster in Cluster.objects.all():
        try:
            endpoint = replace(endpoint_of(cluster), timeout=PROBE_TIMEOUT_SECONDS)
            inventory.version_get(PveClient(endpoint))
        except ProxmoxError as error:
            failing.append(f"{cluster.name}: {error.message}")
    if failing:
        raise RuntimeError("; ".join(failing))
