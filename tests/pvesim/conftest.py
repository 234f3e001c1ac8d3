"""pvesim tests talk to a real simulator process (fixture ``pvesim`` from tests/pvesim_server.py,
registered in tests/conftest.py); they use no portal code or database."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_access_model() -> None:
    """Overrides the suite-wide reset of the portal's ACL model: pvesim tests have none."""
