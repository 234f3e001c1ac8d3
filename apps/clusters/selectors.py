"""Reads of clusters and nodes, for operators only.

To anyone else (tenant users and their API tokens) every cluster and node is missing: the same
404 as an unknown name, so tenants do not even learn the names.
"""

from django.db.models import Case, CharField, Count, Prefetch, Q, QuerySet, TextChoices, Value, When
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from apps.access.engine import Principal, filter_by_id, has_privileges
from apps.clusters.models import Cluster, Node, Storage

AUDIT_PRIVILEGE = "Sys.Audit"


class ClusterHealth(TextChoices):
    OK = "ok", _("OK")
    # Nodes in maintenance may be down: that is what maintenance is for.
    DEGRADED = "degraded", _("A node outside maintenance is offline")
    ERROR = "error", _("The last sync failed")
    UNKNOWN = "unknown", _("Never synced")


def _require_operator(actor: Principal) -> None:
    """A superuser, or a token of one, that may audit `/`: a privilege-separated operator token
    only has what its own ACL entries grant."""
    owner = getattr(actor, "user", actor)
    is_operator = owner.is_authenticated and owner.is_superuser
    if not (is_operator and has_privileges(actor, "/", AUDIT_PRIVILEGE)):
        raise Http404("no such cluster")


def cluster_list(*, actor: Principal) -> QuerySet[Cluster]:
    """Clusters with `node_count` (nodes that still exist) and `health`."""
    _require_operator(actor)
    present = Q(nodes__vanished_at__isnull=True)
    counted = Cluster.objects.annotate(
        node_count=Count("nodes", filter=present),
        nodes_down=Count(
            "nodes", filter=present & Q(nodes__online=False, nodes__maintenance=False)
        ),
    )
    return counted.annotate(
        health=Case(
            When(~Q(last_error=""), then=Value(ClusterHealth.ERROR)),
            When(last_synced_at__isnull=True, then=Value(ClusterHealth.UNKNOWN)),
            When(nodes_down__gt=0, then=Value(ClusterHealth.DEGRADED)),
            default=Value(ClusterHealth.OK),
            output_field=CharField(),
        ),
    ).order_by("name")  # Meta.ordering does not apply to grouped (counting) queries


def cluster_get(*, actor: Principal, name: str) -> Cluster:
    cluster = cluster_list(actor=actor).filter(name=name).first()
    if cluster is None:
        raise Http404("no such cluster")
    return cluster


def node_list(*, actor: Principal, cluster: Cluster) -> QuerySet[Node]:
    """The cluster's nodes the actor may audit (`/nodes/{node}`), vanished ones included (flagged),
    each with its present storages as `present_storages`."""
    _require_operator(actor)
    nodes = (
        Node.objects.filter(cluster=cluster)
        .select_related("cluster")
        .prefetch_related(
            Prefetch(
                "storages",
                queryset=Storage.objects.filter(vanished_at__isnull=True).order_by("storage"),
                to_attr="present_storages",
            )
        )
    )
    return filter_by_id(nodes, actor, privilege=AUDIT_PRIVILEGE, parent="/nodes", field="name")


def node_get(*, actor: Principal, cluster: Cluster, name: str) -> Node:
    node = node_list(actor=actor, cluster=cluster).filter(name=name).first()
    if node is None:
        raise Http404("no such node")
    return node
