"""REST API for operators: clusters and their nodes. To anyone else they do not exist (404)."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.engine import actor_of
from apps.clusters import selectors, services
from apps.clusters.api.filters import ClusterFilter
from apps.clusters.api.serializers import (
    ClusterSerializer,
    ConnectionTestSerializer,
    NodeMaintenanceSerializer,
    NodeSerializer,
)
from apps.clusters.models import Cluster, Node
from apps.proxmox.errors import ProxmoxError


class ClusterListApi(generics.ListAPIView):
    queryset = Cluster.objects.none()  # the model for the schema; rows come from get_queryset
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilter
    ordering_fields = ["name", "last_synced_at", "node_count", "health"]

    def get_queryset(self):
        return selectors.cluster_list(actor=actor_of(self.request))


class ClusterDetailApi(generics.RetrieveAPIView):
    serializer_class = ClusterSerializer

    def get_object(self) -> Cluster:
        return selectors.cluster_get(actor=actor_of(self.request), name=self.kwargs["name"])


class ClusterSyncApi(APIView):
    """Queue an inventory sync; the cluster's `last_synced_at` tells when it ran."""

    @extend_schema(request=None, responses={202: ClusterSerializer})
    def post(self, request: Request, name: str) -> Response:
        actor = actor_of(request)
        cluster = selectors.cluster_get(actor=actor, name=name)
        services.inventory_sync_enqueue(cluster=cluster, actor=actor)
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_202_ACCEPTED)


class ClusterConnectionTestApi(APIView):
    """Reach the cluster with its token now; a failure is a result (`ok: false`), not an error."""

    @extend_schema(request=None, responses=ConnectionTestSerializer)
    def post(self, request: Request, name: str) -> Response:
        cluster = selectors.cluster_get(actor=actor_of(request), name=name)
        try:
            report = services.connection_test(endpoint=services.endpoint_of(cluster))
        except (ValueError, ProxmoxError) as error:  # ValueError: an unusable stored pin
            reason = getattr(error, "message", str(error))
            return Response(ConnectionTestSerializer({"ok": False, "error": reason}).data)
        return Response(ConnectionTestSerializer({"ok": True, **asdict(report)}).data)


class NodeListApi(generics.ListAPIView):
    queryset = Node.objects.none()  # the model for the schema; rows come from get_queryset
    serializer_class = NodeSerializer
    filterset_fields = ["online", "maintenance"]
    ordering_fields = ["name", "cpu_usage", "memory_used"]

    def get_queryset(self):
        actor = actor_of(self.request)
        cluster = selectors.cluster_get(actor=actor, name=self.kwargs["name"])
        return selectors.node_list(actor=actor, cluster=cluster)


class NodeDetailApi(generics.RetrieveAPIView):
    serializer_class = NodeSerializer

    def get_object(self) -> Node:
        actor = actor_of(self.request)
        cluster = selectors.cluster_get(actor=actor, name=self.kwargs["name"])
        return selectors.node_get(actor=actor, cluster=cluster, name=self.kwargs["node"])


class NodeMaintenanceApi(APIView):
    @extend_schema(request=NodeMaintenanceSerializer, responses=NodeSerializer)
    def post(self, request: Request, name: str, node: str) -> Response:
        actor = actor_of(request)
        cluster = selectors.cluster_get(actor=actor, name=name)
        found = selectors.node_get(actor=actor, cluster=cluster, name=node)  # 404 first
        data = NodeMaintenanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.node_maintenance_set(
            node=found, maintenance=data.validated_data["maintenance"], actor=actor
        )
        return Response(
            NodeSerializer(selectors.node_get(actor=actor, cluster=cluster, name=node)).data
        )
