"""pytest plugin: pvesim as the portal sees it: a token made by root, pinned TLS, faults."""

import hashlib
import ssl
import uuid
from dataclasses import dataclass

import pytest
import requests
from proxmoxer import ProxmoxAPI

from apps.proxmox.client import ClusterEndpoint


@dataclass(frozen=True)
class PveToken:
    token_id: str
    secret: str


@pytest.fixture(scope="session")
def pvesim_ca_file(pvesim, tmp_path_factory) -> str:
    """pvesim's self-signed certificate, checked against the fingerprint it printed."""
    pem = ssl.get_server_certificate((pvesim.host, pvesim.port))
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    assert digest == pvesim.fingerprint.replace(":", "").lower()
    ca_file = tmp_path_factory.mktemp("pvesim-ca") / "ca.pem"
    ca_file.write_text(pem)
    return str(ca_file)


@pytest.fixture(scope="session")
def pvesim_root(pvesim, pvesim_ca_file) -> ProxmoxAPI:
    """root@pam through a ticket, the way an operator prepares the portal's token."""
    return ProxmoxAPI(
        pvesim.host,
        port=pvesim.port,
        user="root@pam",
        password=pvesim.root_password,
        verify_ssl=pvesim_ca_file,
        timeout=10,
    )


def make_token(root: ProxmoxAPI, *, userid: str = "root@pam", privsep: int = 0) -> PveToken:
    name = f"t{uuid.uuid4().hex[:10]}"
    created = root.access.users(userid).token(name).post(privsep=privsep)
    return PveToken(token_id=created["full-tokenid"], secret=created["value"])


@pytest.fixture
def pve_token(pvesim_root) -> PveToken:
    return make_token(pvesim_root)


@pytest.fixture
def pvesim_endpoint(pvesim, pve_token) -> ClusterEndpoint:
    return ClusterEndpoint(
        addresses=(f"{pvesim.host}:{pvesim.port}",),
        token_id=pve_token.token_id,
        token_secret=pve_token.secret,
        fingerprint=pvesim.fingerprint,
    )


@pytest.fixture
def pvesim_faults(pvesim, pvesim_ca_file):
    """Set pvesim's fault injection for one test; everything back to normal afterwards."""
    url = f"https://{pvesim.host}:{pvesim.port}/pvesim/faults"

    def apply(**faults):
        requests.put(url, json=faults, verify=pvesim_ca_file, timeout=5).raise_for_status()

    yield apply
    requests.delete(url, verify=pvesim_ca_file, timeout=5).raise_for_status()
