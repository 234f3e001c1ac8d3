"""Privileges and built-in roles against the table of FACTS.md 11.1/11.2 (PVE 9)."""

import re

import pytest

from pvecore.privileges import (
    BUILTIN_ROLES,
    PRIVILEGES,
    ROOT_ONLY_PRIVILEGES,
    is_builtin_role,
    validate_custom_role,
)

VM_ADMIN = {
    "VM.Allocate",
    "VM.Audit",
    "VM.Backup",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.CPU",
    "VM.Config.Cloudinit",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.GuestAgent.Unrestricted",
    "VM.Migrate",
    "VM.PowerMgmt",
    "VM.Replicate",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
}
VM_USER = {
    "VM.Audit",
    "VM.Backup",
    "VM.Config.CDROM",
    "VM.Config.Cloudinit",
    "VM.Console",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.FileRead",
    "VM.GuestAgent.FileSystemMgmt",
    "VM.GuestAgent.FileWrite",
    "VM.PowerMgmt",
}
DATASTORE_ADMIN = {
    "Datastore.Allocate",
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
}
PVE_ADMIN = (
    VM_ADMIN
    | DATASTORE_ADMIN
    | {
        "Group.Allocate",
        "Mapping.Audit",
        "Mapping.Use",
        "Pool.Allocate",
        "Pool.Audit",
        "Realm.AllocateUser",
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
        "Sys.Audit",
        "Sys.Console",
        "Sys.Syslog",
        "User.Modify",
    }
)

# FACTS.md 11.2, row by row.
EXPECTED_ROLES = {
    "Administrator": set(PRIVILEGES),
    "NoAccess": set(),
    "PVEAdmin": PVE_ADMIN,
    "PVEAuditor": {
        "Datastore.Audit",
        "Mapping.Audit",
        "Pool.Audit",
        "SDN.Audit",
        "Sys.Audit",
        "VM.Audit",
        "VM.GuestAgent.Audit",
    },
    "PVEDatastoreAdmin": DATASTORE_ADMIN,
    "PVEDatastoreUser": {"Datastore.AllocateSpace", "Datastore.Audit"},
    "PVEMappingAdmin": {"Mapping.Audit", "Mapping.Modify", "Mapping.Use"},
    "PVEMappingUser": {"Mapping.Audit", "Mapping.Use"},
    "PVEPoolAdmin": {"Pool.Allocate", "Pool.Audit"},
    "PVEPoolUser": {"Pool.Audit"},
    "PVESDNAdmin": {"SDN.Allocate", "SDN.Audit", "SDN.Use"},
    "PVESDNUser": {"SDN.Audit", "SDN.Use"},
    "PVESysAdmin": {"Sys.Audit", "Sys.Console", "Sys.Syslog"},
    "PVETemplateUser": {"VM.Audit", "VM.Clone"},
    "PVEUserAdmin": {"Group.Allocate", "Realm.AllocateUser", "User.Modify"},
    "PVEVMAdmin": VM_ADMIN,
    "PVEVMUser": VM_USER,
}
EXPECTED_COUNTS = {
    "Administrator": 47,
    "NoAccess": 0,
    "PVEAdmin": 40,
    "PVEAuditor": 7,
    "PVEDatastoreAdmin": 4,
    "PVEDatastoreUser": 2,
    "PVEMappingAdmin": 3,
    "PVEMappingUser": 2,
    "PVEPoolAdmin": 2,
    "PVEPoolUser": 1,
    "PVESDNAdmin": 3,
    "PVESDNUser": 2,
    "PVESysAdmin": 3,
    "PVETemplateUser": 2,
    "PVEUserAdmin": 3,
    "PVEVMAdmin": 23,
    "PVEVMUser": 10,
}


def test_there_are_47_sorted_unique_privileges() -> None:
    assert len(PRIVILEGES) == 47
    assert list(PRIVILEGES) == sorted(set(PRIVILEGES))
    assert "VM.Monitor" not in PRIVILEGES  # replaced in PVE 9
    assert {"VM.Replicate", "Sys.AccessNetwork", "Permissions.Modify"} <= set(PRIVILEGES)


def test_root_only_privileges() -> None:
    root_group = {"Sys.Modify", "Sys.PowerMgmt", "Sys.Incoming", "Sys.AccessNetwork"}
    assert root_group | {"Realm.Allocate"} == ROOT_ONLY_PRIVILEGES


def test_derived_roles_match_the_table_exactly() -> None:
    assert set(BUILTIN_ROLES) == set(EXPECTED_ROLES)
    # No PVESysUser / PVEUserUser: those user groups are empty.
    assert "PVESysUser" not in BUILTIN_ROLES
    assert "PVEUserUser" not in BUILTIN_ROLES


@pytest.mark.parametrize("role", sorted(EXPECTED_ROLES))
def test_builtin_role_privileges(role: str) -> None:
    assert BUILTIN_ROLES[role] == EXPECTED_ROLES[role]
    assert len(BUILTIN_ROLES[role]) == EXPECTED_COUNTS[role]


def test_root_group_privileges_only_in_administrator() -> None:
    holders = {role for role, privs in BUILTIN_ROLES.items() if privs & ROOT_ONLY_PRIVILEGES}
    assert holders == {"Administrator"}


def test_is_builtin_role() -> None:
    assert is_builtin_role("PVEVMUser")
    assert is_builtin_role("NoAccess")
    assert not is_builtin_role("customer")


@pytest.mark.parametrize("name", ["customer", "my-pve-role", "Role.1_a"])
def test_valid_custom_roles_pass(name: str) -> None:
    validate_custom_role(name, PRIVILEGES)  # raises ValueError on refusal


@pytest.mark.parametrize(
    ("name", "privs", "message"),
    [
        ("PVEMine", [], "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"),
        ("pveMine", [], "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"),
        ("Administrator", [], "role 'Administrator' already exists"),
        ("bad role", [], "role name 'bad role' contains invalid characters"),
        ("customer", ["VM.Monitor"], "invalid privilege 'VM.Monitor'"),
    ],
)
def test_invalid_custom_roles(name: str, privs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        validate_custom_role(name, privs)
