from tests.browser.conftest import browser, page  # noqa: F401 - fixtures
from tests.consoles.fixtures import (  # noqa: F401 - fixtures
    alice,
    console_cluster,
    operator,
    running_ct,
    running_vm,
    tenant,
)
