"""REST API: the templates guests can be made from."""

from rest_framework import generics, serializers

from apps.guests import selectors
from apps.guests.models import Guest


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
