import django_filters

from apps.clusters.models import Cluster
from apps.clusters.selectors import ClusterHealth


class ClusterFilter(django_filters.FilterSet):
    health = django_filters.ChoiceFilter(choices=ClusterHealth.choices)

    class Meta:
        model = Cluster
        fields = ["health", "pve_version"]
