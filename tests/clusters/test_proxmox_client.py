"""apps/proxmox against pvesim over real HTTPS: pinned TLS, failover, error mapping."""

import pytest

from apps.proxmox import errors, inventory
from apps.proxmox.client import ClusterEndpoint, PveClient
from tests.services.network import free_port

pytestmark = pytest.mark.django_db  # the CA-bundle file goes under DATA_DIR


def test_pinned_fingerprint_connects_and_reads_typed_inventory(pvesim_endpoint) -> None:
    client = PveClient(pvesim_endpoint)
    assert inventory.version_get(client).version.startswith("9.")
    assert inventory.cluster_name_get(client) == "pvesim"
    nodes = inventory.nodes_list(client)
    assert sorted(node.name for node in nodes) == ["pve1", "pve2", "pve3"]
    assert all(node.online and node.memory_total > 0 for node in nodes)
    storages = {(s.storage, s.node): s for s in inventory.storages_list(client)}
    assert storages[("local-lvm", "pve1")].type == "lvmthin"
    assert storages[("shared-nfs", "pve2")].shared
    assert {"images", "rootdir"} <= storages[("local-lvm", "pve1")].content
    templates = [g for g in inventory.guests_list(client) if g.template]
    assert {g.vmid for g in templates} >= {9000, 9001}


def test_wrong_fingerprint_is_refused(pvesim, pve_token) -> None:
    endpoint = ClusterEndpoint(
        addresses=(f"{pvesim.host}:{pvesim.port}",),
        token_id=pve_token.token_id,
        token_secret=pve_token.secret,
        fingerprint="AA:" * 31 + "AA",
    )
    with pytest.raises(errors.ProxmoxTlsMismatch):
        inventory.version_get(PveClient(endpoint))


def test_ca_bundle_verification(pvesim, pve_token) -> None:
    import ssl

    pem = ssl.get_server_certificate((pvesim.host, pvesim.port))
    endpoint = ClusterEndpoint(
        addresses=(f"{pvesim.host}:{pvesim.port}",),
        token_id=pve_token.token_id,
        token_secret=pve_token.secret,
        ca_bundle=pem,
    )
    assert inventory.version_get(PveClient(endpoint)).version


def test_fails_over_to_the_next_address_and_prefers_it_afterwards(pvesim, pve_token) -> None:
    dead = f"127.0.0.1:{free_port()}"
    client = PveClient(
        ClusterEndpoint(
            addresses=(dead, f"{pvesim.host}:{pvesim.port}"),
            token_id=pve_token.token_id,
            token_secret=pve_token.secret,
            fingerprint=pvesim.fingerprint,
            timeout=3,
        )
    )
    assert inventory.version_get(client).version
    assert client.current_address == f"{pvesim.host}:{pvesim.port}"


def test_all_addresses_down_is_a_retryable_unavailable_error(pve_token, pvesim) -> None:
    client = PveClient(
        ClusterEndpoint(
            addresses=(f"127.0.0.1:{free_port()}",),
            token_id=pve_token.token_id,
            token_secret=pve_token.secret,
            fingerprint=pvesim.fingerprint,
            timeout=2,
        )
    )
    with pytest.raises(errors.ProxmoxUnavailable) as raised:
        client.get("version")
    assert raised.value.retryable


def test_pve_errors_map_onto_the_hierarchy(pvesim, pvesim_endpoint) -> None:
    client = PveClient(pvesim_endpoint)
    with pytest.raises(errors.ProxmoxNotFound):
        client.get("nodes/pve1/qemu/999999/config")
    with pytest.raises(errors.ProxmoxInvalid) as invalid:
        client.get("cluster/resources", type="bogus")
    assert "type" in invalid.value.errors
    bad_token = ClusterEndpoint(
        addresses=pvesim_endpoint.addresses,
        token_id=pvesim_endpoint.token_id,
        token_secret="wrong",
        fingerprint=pvesim.fingerprint,
    )
    with pytest.raises(errors.ProxmoxAuthenticationFailed):
        PveClient(bad_token).get("version")


def test_endpoint_refuses_to_go_without_tls_pinning_or_ca() -> None:
    with pytest.raises(ValueError, match="fingerprint or give a CA bundle"):
        ClusterEndpoint(addresses=("h",), token_id="a@pve!t", token_secret="s")


def test_the_pin_also_holds_through_an_https_proxy() -> None:
    from apps.proxmox.tls import FingerprintAdapter

    adapter = FingerprintAdapter("AB" * 32)
    manager = adapter.proxy_manager_for("http://proxy.example.com:3128")
    assert manager.connection_pool_kw["assert_fingerprint"] == "ab" * 32


def test_a_write_whose_answer_is_lost_is_not_sent_again(pvesim, pve_token, pvesim_faults) -> None:
    pvesim_faults(rules=[{"match": "^POST /pools$", "latency_ms": 3000}])
    address = f"{pvesim.host}:{pvesim.port}"
    client = PveClient(
        ClusterEndpoint(
            addresses=(address, address),
            token_id=pve_token.token_id,
            token_secret=pve_token.secret,
            fingerprint=pvesim.fingerprint,
            timeout=1,
        )
    )

    with pytest.raises(errors.ProxmoxOutcomeUnknown) as lost:
        client.post("pools", poolid="sent-once")

    assert not lost.value.retryable
    assert address not in lost.value.message  # tenants may read it; no node addresses
