"""Beat's per-cluster syncs meet a cluster or realm removed after they were queued."""

import pytest

from apps.backups.tasks import sync_cluster_backups
from apps.clusters.tasks import sync_inventory
from apps.guests.tasks import sync_cluster_guests
from apps.identity.tasks import sync_realm

pytestmark = pytest.mark.django_db

GONE = 987_654


def test_a_cluster_removed_after_queueing_ends_its_syncs_quietly() -> None:
    assert sync_cluster_guests(GONE) == "cluster removed"
    assert sync_cluster_backups(GONE) == "cluster removed"
    assert sync_inventory(GONE) == {"error": ["cluster removed"]}


def test_a_realm_removed_after_queueing_ends_its_sync_quietly() -> None:
    assert sync_realm(GONE) == {"error": "realm removed"}
