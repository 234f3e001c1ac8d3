"""Registering clusters, testing connections, syncing nodes and storages."""

from dataclasses import dataclass, field

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.clusters.models import Cluster, Node, Storage
from apps.clusters.tasks import sync_inventory
from apps.proxmox import inventory
from apps.proxmox.client import ClusterEndpoint, PveClient
from apps.proxmox.errors import ProxmoxError
from apps.proxmox.tls import normalize_fingerprint
from pvecore.ids import is_tokenid


def endpoint_of(cluster: Cluster) -> ClusterEndpoint:
    return ClusterEndpoint(
        addresses=tuple(cluster.api_addresses),
        token_id=cluster.token_id,
        token_secret=cluster.token_secret,
        fingerprint=cluster.fingerprint,
        ca_bundle=cluster.ca_bundle,
        name=cluster.name,
    )


def client_for(cluster: Cluster) -> PveClient:
    return PveClient(endpoint_of(cluster))


@dataclass(frozen=True)
class ConnectionReport:
    pve_version: str
    pve_cluster_name: str
    node_count: int


def connection_test(*, endpoint: ClusterEndpoint) -> ConnectionReport:
    """Version, cluster name and nodes through the token: raises ProxmoxError with PVE's reason."""
    client = PveClient(endpoint)
    version = inventory.version_get(client)
    return ConnectionReport(
        pve_version=version.version,
        pve_cluster_name=inventory.cluster_name_get(client),
        node_count=len(inventory.nodes_list(client)),
    )


def fingerprint_clean(fingerprint: str) -> str:
    """A SHA-256 fingerprint in PVE's form (AB:CD:...), or '' for none; ValidationError if it
    is not one."""
    if not fingerprint:
        return ""
    try:
        digits = normalize_fingerprint(fingerprint)
    except ValueError as error:
        raise ValidationError({"fingerprint": str(error)}) from error
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()


def cluster_register(
    *,
    name: str,
    api_addresses: list[str],
    token_id: str,
    token_secret: str,
    fingerprint: str = "",
    ca_bundle: str = "",
    vmid_range_start: int = 100,
    vmid_range_end: int = 999_999,
    actor: Actor = SYSTEM,
) -> Cluster:
    """Refuses (ValidationError) anything it could not use: bad input or a failing connection."""
    if not is_tokenid(token_id):
        raise ValidationError({"token_id": "a token id has the form user@realm!name"})
    fingerprint = fingerprint_clean(fingerprint)
    cluster = Cluster(
        name=name,
        api_addresses=[a.strip() for a in api_addresses if a.strip()],
        token_id=token_id,
        token_secret=token_secret,
        fingerprint=fingerprint,
        ca_bundle=ca_bundle,
        vmid_range_start=vmid_range_start,
        vmid_range_end=vmid_range_end,
    )
    cluster.full_clean()
    try:
        report = connection_test(endpoint=endpoint_of(cluster))
    except ValueError as error:
        raise ValidationError(str(error)) from error
    except ProxmoxError as error:
        raise ValidationError(f"connection test failed: {error.message}") from error
    cluster.pve_version = report.pve_version
    cluster.pve_cluster_name = report.pve_cluster_name
    with transaction.atomic():
        cluster.save()
        # Its guests and templates now, not at the next periodic sync (by name: the guests app
        # builds on this one, not the other way round).
        transaction.on_commit(
            lambda: current_app.send_task("guests.sync_cluster", args=[cluster.pk]), robust=True
        )
        audit_record(
            action="clusters.cluster_registered",
            actor=actor,
            target=name,
            detail={"addresses": cluster.api_addresses, "token_id": token_id},
        )
    return cluster


def cluster_credentials_update(
    *,
    cluster: Cluster,
    token_id: str,
    token_secret: str,
    fingerprint: str = "",
    ca_bundle: str = "",
    actor: Actor = SYSTEM,
) -> Cluster:
    """A new token or certificate for a registered cluster; refused unless the test passes."""
    candidate = ClusterEndpoint(
        addresses=tuple(cluster.api_addresses),
        token_id=token_id,
        token_secret=token_secret,
        fingerprint=fingerprint,
        ca_bundle=ca_bundle,
    )
    try:
        report = connection_test(endpoint=candidate)
    except (ValueError, ProxmoxError) as error:
        raise ValidationError(
            f"connection test failed: {getattr(error, 'message', error)}"
        ) from error
    with transaction.atomic():
        cluster.token_id, cluster.token_secret = token_id, token_secret
        cluster.fingerprint, cluster.ca_bundle = fingerprint, ca_bundle
        cluster.pve_version = report.pve_version
        cluster.save()
        audit_record(
            action="clusters.credentials_updated",
            actor=actor,
            target=cluster.name,
            detail={"token_id": token_id},
        )
    return cluster


@dataclass
class InventoryReport:
    nodes_added: list[str] = field(default_factory=list)
    nodes_vanished: list[str] = field(default_factory=list)
    storages_added: list[str] = field(default_factory=list)
    storages_vanished: list[str] = field(default_factory=list)


def inventory_sync(*, cluster: Cluster) -> InventoryReport:
    """Refresh nodes and storages; vanished ones are flagged, never deleted."""
    client = client_for(cluster)
    try:
        found_nodes = inventory.nodes_list(client)
        found_storages = inventory.storages_list(client)
    except ProxmoxError as error:
        Cluster.objects.filter(pk=cluster.pk).update(last_error=error.message)
        raise
    now = timezone.now()
    report = InventoryReport()
    with transaction.atomic():
        nodes = {
            node.name: node for node in Node.objects.select_for_update().filter(cluster=cluster)
        }
        for info in found_nodes:
            node = nodes.get(info.name) or Node(cluster=cluster, name=info.name)
            if node.pk is None:
                report.nodes_added.append(info.name)
            node.online = info.online
            node.cpu_usage, node.cpu_count = info.cpu_usage, info.cpu_count
            node.memory_used, node.memory_total = info.memory_used, info.memory_total
            node.vanished_at = None
            node.save()
            nodes[info.name] = node
        seen_nodes = {info.name for info in found_nodes}
        for name, node in nodes.items():
            if name not in seen_nodes and node.vanished_at is None:
                node.vanished_at, node.online = now, False
                node.save(update_fields=["vanished_at", "online"])
                report.nodes_vanished.append(name)

        storages = {
            (s.node.name, s.storage): s
            for s in Storage.objects.select_related("node").filter(cluster=cluster)
        }
        seen_storages = set()
        for info in found_storages:
            if info.node not in nodes:
                continue  # a node that joined between the two reads: the next sync has it
            key = (info.node, info.storage)
            seen_storages.add(key)
            storage = storages.get(key) or Storage(
                cluster=cluster, node=nodes[info.node], storage=info.storage
            )
            if storage.pk is None:
                report.storages_added.append(f"{info.storage}@{info.node}")
            storage.type, storage.content = info.type, sorted(info.content)
            storage.shared, storage.available = info.shared, info.available
            storage.used, storage.total = info.used, info.total
            storage.vanished_at = None
            storage.save()
        for key, storage in storages.items():
            if key not in seen_storages and storage.vanished_at is None:
                storage.vanished_at = now
                storage.save(update_fields=["vanished_at"])
                report.storages_vanished.append(f"{storage.storage}@{storage.node.name}")
        Cluster.objects.filter(pk=cluster.pk).update(last_synced_at=now, last_error="")
    return report


def inventory_sync_enqueue(*, cluster: Cluster, actor: Principal) -> None:
    """Sync the cluster's nodes and storages in a worker once the caller's transaction commits."""
    with transaction.atomic():
        require(actor, "Sys.Audit", "/")
        audit_record(
            action="clusters.sync_requested", actor=audit_actor(actor), target=cluster.name
        )
        # robust: a broker hiccup must not fail the request; the periodic sync comes anyway.
        transaction.on_commit(lambda: sync_inventory.delay(cluster.pk), robust=True)


def node_maintenance_set(*, node: Node, maintenance: bool, actor: Principal) -> Node:
    """Take a node out of placement, or give it back. Its guests keep running where they are;
    setting what is already set changes (and audits) nothing."""
    with transaction.atomic():
        require(actor, "Sys.Modify", f"/nodes/{node.name}")
        node = Node.objects.select_for_update().get(pk=node.pk)
        if node.maintenance != maintenance:
            node.maintenance = maintenance
            node.save(update_fields=["maintenance"])
            audit_record(
                action=f"clusters.node_maintenance_{'entered' if maintenance else 'left'}",
                actor=audit_actor(actor),
                target=str(node),
            )
    return node
