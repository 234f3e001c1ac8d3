"""REST API: what guests can be made from: VM templates and images (ISO, container templates)."""

from rest_framework import generics, serializers

from apps.guests import selectors
from apps.guests.models import Guest, Image


class TemplateSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")

    class Meta:
        model = Guest
        fields = ["vmid", "name", "type", "cluster", "node"]
        read_only_fields = fields


class TemplateListApi(generics.ListAPIView):
    serializer_class = TemplateSerializer

    def get_queryset(self):
        return selectors.template_list()


class ImageSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name")

    class Meta:
        model = Image
        fields = ["volid", "content", "size", "cluster", "node"]
        read_only_fields = fields


class ImageListApi(generics.ListAPIView):
    serializer_class = ImageSerializer
    filterset_fields = ["content", "cluster__name"]

    def get_queryset(self):
        return selectors.image_list()
