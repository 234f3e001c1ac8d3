"""`__any`: the same rows as `__in`, for short, empty and long lists."""

import pytest

from apps.clusters.models import Cluster
from apps.guests.models import Guest

pytestmark = pytest.mark.django_db


@pytest.fixture
def guests() -> list[int]:
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Guest.objects.bulk_create(
        Guest(vmid=vmid, cluster=cluster, node="n", type="qemu") for vmid in range(100, 5100)
    )
    return list(range(100, 5100))


@pytest.mark.parametrize("wanted", [[], [100], [4999, 101, 7], list(range(100, 5100, 2))])
def test_any_matches_in(guests, wanted) -> None:
    def vmids(queryset):
        return sorted(queryset.values_list("vmid", flat=True))

    assert vmids(Guest.objects.filter(vmid__any=wanted)) == vmids(
        Guest.objects.filter(vmid__in=wanted)
    )
    assert vmids(Guest.objects.exclude(vmid__any=wanted)) == vmids(
        Guest.objects.exclude(vmid__in=wanted)
    )
