from tests.consoles.fixtures import (  # noqa: F401 - fixtures
    alice,
    alice_client,
    console_cluster,
    operator,
    operator_client,
    running_ct,
    running_vm,
    tenant,
)
