from tests.consoles.fixtures import (  # noqa: F401 - fixtures
    alice,
    alice_client,
    console_cluster,
    running_vm,
    tenant,
)
