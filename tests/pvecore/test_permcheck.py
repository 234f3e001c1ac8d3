"""Schema permission checks (FACTS.md 11.6), with `permissions` values copied from the PVE 9.1
schema for endpoints of SUBSET.md, and PVE's exact 403 messages."""

import json
import os
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pvecore.acl import AccessModel, AclEntry, Pool
from pvecore.permcheck import NoSuchUser, PermissionDenied, check_permissions, template_replace

APIDATA = Path(
    os.environ.get(
        "PVE_APIDATA", Path(__file__).resolve().parents[3] / "shared" / "pve-api" / "apidata.json"
    )
)

START = {"check": ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]}
UPDATE_CONFIG = {
    "check": [
        "perm",
        "/vms/{vmid}",
        [
            "VM.Config.Disk",
            "VM.Config.CDROM",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.HWType",
            "VM.Config.Options",
            "VM.Config.Cloudinit",
        ],
        "any",
        1,
    ]
}
CLONE = {
    "check": [
        "and",
        ["perm", "/vms/{vmid}", ["VM.Clone"]],
        [
            "or",
            ["perm", "/vms/{newid}", ["VM.Allocate"]],
            ["perm", "/pool/{pool}", ["VM.Allocate"], "require_param", "pool"],
        ],
    ]
}
DOWNLOAD_URL = {
    "check": [
        "and",
        ["perm", "/storage/{storage}", ["Datastore.AllocateTemplate"]],
        [
            "or",
            ["perm", "/", ["Sys.Audit", "Sys.Modify"]],
            ["perm", "/nodes/{node}", ["Sys.AccessNetwork"]],
        ],
    ]
}
TOKEN_CREATE = {"check": ["or", ["userid-param", "self"], ["userid-group", ["User.Modify"]]]}
USER_GET = {"check": ["userid-group", ["User.Modify", "Sys.Audit"]]}
USER_CREATE = {
    "check": [
        "and",
        ["userid-param", "Realm.AllocateUser"],
        ["userid-group", ["User.Modify"], "groups_param", "create"],
    ]
}
USER_UPDATE = {"check": ["userid-group", ["User.Modify"], "groups_param", "update"]}
CHANGE_PASSWORD = {
    "check": [
        "or",
        ["userid-param", "self"],
        ["and", ["userid-param", "Realm.AllocateUser"], ["userid-group", ["User.Modify"]]],
    ]
}
ACL_UPDATE = {"check": ["perm-modify", "{path}"]}
LIST = {"user": "all"}
LOGIN = {"user": "world"}

MODEL = AccessModel(
    acl=[
        AclEntry("/vms/100", "PVEVMUser", user="ann@pve"),
        AclEntry("/vms/100", "PVETemplateUser", user="bob@pve"),
        AclEntry("/pool/tenant", "PVEVMAdmin", user="bob@pve"),
        AclEntry("/storage/local", "PVEDatastoreAdmin", user="bob@pve"),
        AclEntry("/nodes/pve1", "PVEAuditor", user="bob@pve"),
        AclEntry("/access/groups/tenant", "PVEUserAdmin", user="admin@pve"),
        AclEntry("/access/realm/pve", "PVEUserAdmin", user="admin@pve"),
    ],
    groups={"tenant": frozenset({"ann@pve", "bob@pve"}), "other": frozenset({"eve@pve"})},
    pools={"tenant": Pool("tenant", vms=frozenset({100}))},
)


def denied(
    permissions: dict[str, Any] | None,
    principal: str | None,
    params: Mapping[str, object],
    **kwargs: Any,
) -> str:
    with pytest.raises(PermissionDenied) as caught:
        check_permissions(MODEL, principal, permissions, params, **kwargs)
    return str(caught.value)


def test_perm_passes_and_fails_with_path_and_privilege() -> None:
    check_permissions(MODEL, "ann@pve", START, {"node": "pve1", "vmid": 100})
    message = denied(START, "ann@pve", {"node": "pve1", "vmid": "101"})
    assert message == "Permission check failed (/vms/101, VM.PowerMgmt)"


def test_perm_any_joins_privileges_with_pipe() -> None:
    check_permissions(MODEL, "bob@pve", UPDATE_CONFIG, {"vmid": "100"})  # pool VM.Config.*
    check_permissions(MODEL, "ann@pve", UPDATE_CONFIG, {"vmid": "100"})  # VM.Config.CDROM
    assert denied(UPDATE_CONFIG, "eve@pve", {"vmid": "100"}) == (
        "Permission check failed (/vms/100, VM.Config.Disk|VM.Config.CDROM|VM.Config.CPU|"
        "VM.Config.Memory|VM.Config.Network|VM.Config.HWType|VM.Config.Options|"
        "VM.Config.Cloudinit)"
    )


def test_clone_into_pool_uses_require_param() -> None:
    params = {"vmid": "100", "newid": "200", "pool": "tenant"}
    check_permissions(MODEL, "bob@pve", CLONE, params)
    # Without pool= the pool alternative is skipped and /vms/200 is not allowed: bare 'or' failure.
    without_pool = {"vmid": "100", "newid": "200"}
    assert denied(CLONE, "bob@pve", without_pool) == "Permission check failed"
    # The first 'and' member fails with its own message.
    assert denied(CLONE, "eve@pve", params) == "Permission check failed (/vms/100, VM.Clone)"


def test_download_url_nested_or() -> None:
    params = {"node": "pve1", "storage": "local"}
    # bob has Sys.Audit on /nodes/pve1, not Sys.AccessNetwork; nothing on '/'.
    assert denied(DOWNLOAD_URL, "bob@pve", params) == "Permission check failed"
    model = AccessModel(
        acl=[*MODEL.acl, AclEntry("/", "PVEAuditor", user="bob@pve")], groups=MODEL.groups
    )
    # Sys.Audit and Sys.Modify are both needed on '/'; PVEAuditor lacks Sys.Modify.
    with pytest.raises(PermissionDenied):
        check_permissions(model, "bob@pve", DOWNLOAD_URL, params)
    model = AccessModel(
        acl=[*MODEL.acl, AclEntry("/nodes/pve1", "Administrator", user="bob@pve")],
        groups=MODEL.groups,
    )
    check_permissions(model, "bob@pve", DOWNLOAD_URL, params)


def test_userid_param_self_or_group_admin() -> None:
    check_permissions(MODEL, "ann@pve", TOKEN_CREATE, {"userid": "ann@pve", "tokenid": "t"})
    check_permissions(MODEL, "admin@pve", TOKEN_CREATE, {"userid": "ann@pve"})  # via group
    assert denied(TOKEN_CREATE, "admin@pve", {"userid": "eve@pve"}) == "Permission check failed"
    assert denied(TOKEN_CREATE, "bob@pve", {"userid": "ann@pve"}) == "Permission check failed"


def test_userid_group_any_of_privileges() -> None:
    check_permissions(MODEL, "admin@pve", USER_GET, {"userid": "bob@pve"})
    assert denied(USER_GET, "ann@pve", {"userid": "bob@pve"}) == "Permission check failed"


def test_group_of_user_override() -> None:
    params = {"userid": "eve@pve"}
    check_permissions(MODEL, "admin@pve", USER_GET, params, group_of_user=lambda _: ["tenant"])


def test_user_create_checks_realm_and_requested_groups() -> None:
    params = {"userid": "new@pve", "groups": "tenant"}
    check_permissions(MODEL, "admin@pve", USER_CREATE, params)
    assert denied(USER_CREATE, "admin@pve", {"userid": "new@pve", "groups": "other"}) == (
        "Permission check failed (/access/groups/other, User.Modify)"
    )
    assert denied(USER_CREATE, "admin@pve", {"userid": "new@pve"}) == (
        "Permission check failed (/access/groups, User.Modify)"
    )
    assert denied(USER_CREATE, "admin@pve", {"userid": "new@pam", "groups": "tenant"}) == (
        "Permission check failed (/access/realm/pam, Realm.AllocateUser)"
    )


def test_user_update_checks_existing_user_and_new_groups() -> None:
    check_permissions(MODEL, "admin@pve", USER_UPDATE, {"userid": "ann@pve", "groups": "tenant"})
    message = denied(USER_UPDATE, "admin@pve", {"userid": "eve@pve", "groups": "tenant"})
    assert message == "Permission check failed"


def test_change_password_and_inside_or_raises_its_own_message() -> None:
    check_permissions(MODEL, "ann@pve", CHANGE_PASSWORD, {"userid": "ann@pve"})
    check_permissions(MODEL, "admin@pve", CHANGE_PASSWORD, {"userid": "ann@pve"})
    # PVE evaluates 'and' without noerr, so its failure escapes the surrounding 'or'.
    assert denied(CHANGE_PASSWORD, "bob@pve", {"userid": "ann@pve"}) == (
        "Permission check failed (/access/realm/pve, Realm.AllocateUser)"
    )


def test_perm_modify_accepts_allocate_substitutes() -> None:
    check_permissions(MODEL, "bob@pve", ACL_UPDATE, {"path": "/storage/local"})
    check_permissions(MODEL, "bob@pve", ACL_UPDATE, {"path": "/vms/100"})  # VM.Allocate via pool
    assert denied(ACL_UPDATE, "ann@pve", {"path": "/vms/100/"}) == (
        "Permission check failed (/vms/100, Permissions.Modify|VM.Allocate)"
    )
    assert denied(ACL_UPDATE, "bob@pve", {"path": "/nodes/pve1"}) == (
        "Permission check failed (/nodes/pve1, Permissions.Modify)"
    )
    assert denied(ACL_UPDATE, "bob@pve", {"path": "/vms/1 00"}) == "Permission check failed"


def test_user_all_world_and_root() -> None:
    check_permissions(MODEL, "eve@pve", LIST, {})
    check_permissions(MODEL, None, LOGIN, {})
    check_permissions(MODEL, "root@pam", START, {"vmid": "100"})
    check_permissions(MODEL, "root@pam", None, {})
    assert denied(LIST, None, {}) == "Permission check failed (user != null)"
    assert denied(None, "ann@pve", {}) == "Permission check failed (user != root@pam)"
    assert denied({"description": "only root"}, "ann@pve", {}) == "Permission check failed"


def test_no_such_user_when_existence_is_checked() -> None:
    with pytest.raises(NoSuchUser, match=r"no such user \('ghost@pve'\)"):
        check_permissions(
            MODEL, "admin@pve", USER_GET, {"userid": "ghost@pve"}, user_exists=lambda _: False
        )
    # Inside an 'or' the missing user is just a failed alternative.
    message = denied(TOKEN_CREATE, "ann@pve", {"userid": "ghost@pve"}, user_exists=lambda _: False)
    assert message == "Permission check failed"


@pytest.mark.parametrize(
    "permissions",
    [
        {"check": ["frobnicate", "/"]},
        {"check": ["userid-param", "Sys.Audit"]},
        {"check": ["perm", "/", ["Sys.Audit"], "sometimes", 1]},
        {"check": ["userid-group", ["User.Modify"], "groups_param", "delete"]},
        {"user": "someone"},
    ],
)
def test_unknown_forms_raise_value_error(permissions: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unknown"):
        check_permissions(MODEL, "ann@pve", permissions, {"userid": "ann@pve"})


def test_template_replace_like_pve() -> None:
    assert template_replace("/vms/{vmid}", {"vmid": 100}) == "/vms/100"
    assert template_replace("/pool/{pool}", {}) == "/pool/-"
    assert template_replace("/nodes/{node}/x", {"node": ""}) == "/nodes/-/x"
    assert template_replace("/vms/{vmid}", {"vmid": "0"}) == "/vms/-"


@pytest.mark.skipif(not APIDATA.exists(), reason="shared/pve-api/apidata.json not available")
def test_every_schema_permission_form_is_understood() -> None:
    methods: list[tuple[dict[str, Any] | None, str]] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            methods.extend(
                (info.get("permissions"), node["path"]) for info in node.get("info", {}).values()
            )
            walk(node.get("children") or [])

    walk(json.loads(APIDATA.read_text()))
    params: defaultdict[str, object] = defaultdict(lambda: "x1")
    params.update(vmid="100", newid="101", node="pve1", userid="bob@pve", path="/vms/100")
    outcomes = {"allowed": 0, "denied": 0}
    for permissions, _path in methods:
        try:
            check_permissions(MODEL, "admin@pve", permissions, dict(params))
            outcomes["allowed"] += 1
        except PermissionDenied:
            outcomes["denied"] += 1
    assert sum(outcomes.values()) == len(methods) > 600
    assert outcomes["allowed"] > 0
    assert outcomes["denied"] > 0
