"""REST API: what guests can be made from: VM templates and images (ISO, container templates),
per cluster and per plan."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from apps.guests import selectors
from apps.guests.models import Guest, Image
from apps.tenancy.models import Plan
from apps.tenancy.selectors import plan_list

PLAN_PARAMETER = OpenApiParameter(
    "plan", str, description="Only what this plan (slug) offers: its clusters and templates."
)


def _plan_asked(request) -> Plan | None:
    slug = request.query_params.get("plan")
    if slug is None:
        return None
    plan = plan_list().filter(slug=slug).first()
    if plan is None:
        raise ValidationError({"plan": [f"no plan '{slug}' is offered"]})
    return plan


class TemplateSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")

    class Meta:
        model = Guest
        fields = ["vmid", "name", "type", "cluster", "node"]
        read_only_fields = fields


@extend_schema(parameters=[PLAN_PARAMETER])
class TemplateListApi(generics.ListAPIView):
    serializer_class = TemplateSerializer
    filterset_fields = ["cluster__name"]
    ordering_fields = ["vmid", "name"]
    search_fields = ["name"]

    def get_queryset(self):
        return selectors.template_list(plan=_plan_asked(self.request))


class ImageSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")

    class Meta:
        model = Image
        fields = ["volid", "file_name", "content", "size", "cluster", "node"]
        read_only_fields = fields


@extend_schema(parameters=[PLAN_PARAMETER])
class ImageListApi(generics.ListAPIView):
    serializer_class = ImageSerializer
    filterset_fields = ["content", "cluster__name"]
    search_fields = ["volid"]

    def get_queryset(self):
        return selectors.image_list(plan=_plan_asked(self.request))
