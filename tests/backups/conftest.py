"""The guest tests' fixtures (cluster on pvesim, tenant, plan, its user, a worker)."""

from tests.guests.conftest import acme, alice_api, cluster, small, worker

__all__ = ["acme", "alice_api", "cluster", "small", "worker"]
