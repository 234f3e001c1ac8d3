"""The embedded setup's cluster: registered once, reused, re-credentialed after a reset."""

import pytest

from apps.clusters.models import Cluster
from apps.core.demo import seed_demo_cluster
from apps.guests.models import Guest

pytestmark = pytest.mark.django_db


def test_the_demo_cluster_is_registered_once_and_repaired_when_its_token_stops_working(pvesim):
    address = f"{pvesim.host}:{pvesim.port}"
    first = seed_demo_cluster(address=address, pvesim_data_dir=pvesim.data_dir)
    assert first.nodes.count() == 3
    assert Guest.objects.filter(cluster=first, template=True, vmid=9000).exists()

    assert seed_demo_cluster(address=address, pvesim_data_dir=pvesim.data_dir).pk == first.pk

    Cluster.objects.filter(pk=first.pk).update(token_secret="revoked")
    repaired = seed_demo_cluster(address=address, pvesim_data_dir=pvesim.data_dir)
    assert repaired.pk == first.pk
    assert repaired.token_secret != "revoked"
    assert Cluster.objects.count() == 1
