"""pvesim tests talk to a real simulator process (fixture ``pvesim`` from tests/pvesim_server.py,
registered in tests/conftest.py); they use no portal code or database."""

from pathlib import Path

import pytest

from tests.pvesim.pvesim_client import RawClient, pinned_ca_file
from tests.pvesim_server import PvesimServer


@pytest.fixture(scope="module")
def ca_file(pvesim: PvesimServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's certificate, the only one the clients trust."""
    return pinned_ca_file(pvesim, tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def root(pvesim: PvesimServer, ca_file: Path) -> RawClient:
    """root@pam signed in by ticket."""
    client = RawClient(pvesim, ca_file)
    client.login("root@pam", pvesim.root_password)
    return client


@pytest.fixture(autouse=True)
def _fresh_access_model() -> None:
    """Overrides the suite-wide reset of the portal's ACL model: pvesim tests have none."""
