"""The PVE 9 privileges and built-in roles.

Built-in roles are derived the way `PVE::AccessControl::create_roles()` does it: every category
splits its privileges into four groups (root, admin, user, audit) and the `PVE<Cat>Admin`,
`PVE<Cat>User`, `PVEAdmin` and `PVEAuditor` roles are unions of those groups.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pvecore.ids import is_valid_role_name


@dataclass(frozen=True)
class PrivilegeGroups:
    """One category's privileges split by who may hold them."""

    root: tuple[str, ...] = ()
    admin: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    audit: tuple[str, ...] = ()

    def all(self) -> frozenset[str]:
        return frozenset(self.root + self.admin + self.user + self.audit)


PRIVILEGE_GROUPS: Mapping[str, PrivilegeGroups] = MappingProxyType(
    {
        "VM": PrivilegeGroups(
            admin=(
                "VM.Config.Disk",
                "VM.Config.CPU",
                "VM.Config.Memory",
                "VM.Config.Network",
                "VM.Config.HWType",
                "VM.Config.Options",
                "VM.Allocate",
                "VM.Clone",
                "VM.Migrate",
                "VM.Replicate",
                "VM.Snapshot",
                "VM.Snapshot.Rollback",
                "VM.GuestAgent.Unrestricted",
            ),
            user=(
                "VM.Config.CDROM",
                "VM.Config.Cloudinit",
                "VM.Console",
                "VM.Backup",
                "VM.PowerMgmt",
                "VM.GuestAgent.FileRead",
                "VM.GuestAgent.FileWrite",
                "VM.GuestAgent.FileSystemMgmt",
            ),
            audit=("VM.Audit", "VM.GuestAgent.Audit"),
        ),
        "Sys": PrivilegeGroups(
            root=("Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"),
            admin=("Sys.Console", "Sys.Syslog"),
            audit=("Sys.Audit",),
        ),
        "Datastore": PrivilegeGroups(
            admin=("Datastore.Allocate", "Datastore.AllocateTemplate"),
            user=("Datastore.AllocateSpace",),
            audit=("Datastore.Audit",),
        ),
        "SDN": PrivilegeGroups(
            admin=("SDN.Allocate", "SDN.Audit"),
            user=("SDN.Use",),
            audit=("SDN.Audit",),
        ),
        "User": PrivilegeGroups(
            root=("Realm.Allocate",),
            admin=("User.Modify", "Group.Allocate", "Realm.AllocateUser"),
        ),
        "Pool": PrivilegeGroups(
            admin=("Pool.Allocate",),
            user=("Pool.Audit",),
            audit=("Pool.Audit",),
        ),
        "Mapping": PrivilegeGroups(
            admin=("Mapping.Modify",),
            user=("Mapping.Use",),
            audit=("Mapping.Audit",),
        ),
    }
)

# Permissions.Modify belongs to no category; only Administrator gets it from the built-ins.
UNGROUPED_PRIVILEGES: frozenset[str] = frozenset({"Permissions.Modify"})

PRIVILEGES: tuple[str, ...] = tuple(
    sorted(UNGROUPED_PRIVILEGES.union(*(groups.all() for groups in PRIVILEGE_GROUPS.values())))
)

ROOT_ONLY_PRIVILEGES: frozenset[str] = frozenset(
    privilege for groups in PRIVILEGE_GROUPS.values() for privilege in groups.root
)

ADMINISTRATOR = "Administrator"
NO_ACCESS = "NoAccess"

# Reserved by create_role (case-insensitive), so custom roles can never shadow built-ins.
RESERVED_ROLE_PREFIX = "pve"


def _derive_builtin_roles() -> dict[str, frozenset[str]]:
    roles: dict[str, set[str]] = {
        ADMINISTRATOR: set(PRIVILEGES),
        NO_ACCESS: set(),
        "PVEAdmin": set(),
        "PVEAuditor": set(),
    }
    for category, groups in PRIVILEGE_GROUPS.items():
        non_root = set(groups.admin + groups.user + groups.audit)
        roles[f"PVE{category}Admin"] = non_root
        roles["PVEAdmin"] |= non_root
        if groups.user:
            roles[f"PVE{category}User"] = set(groups.user + groups.audit)
        roles["PVEAuditor"] |= set(groups.audit)
    # Only Administrator, root@pam and PVEMappingAdmin may modify mappings.
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    return {name: frozenset(privs) for name, privs in sorted(roles.items())}


BUILTIN_ROLES: Mapping[str, frozenset[str]] = MappingProxyType(_derive_builtin_roles())


def is_builtin_role(name: str) -> bool:
    return name in BUILTIN_ROLES


def validate_custom_role(name: str, privs: Iterable[str]) -> None:
    """Refuse what `POST /access/roles` refuses, with PVE's messages."""
    if not is_valid_role_name(name):
        raise ValueError(f"role name '{name}' contains invalid characters")
    if name.lower().startswith(RESERVED_ROLE_PREFIX):
        raise ValueError("cannot use role ID starting with the (case-insensitive) 'PVE' namespace")
    if is_builtin_role(name):
        raise ValueError(f"role '{name}' already exists")
    for privilege in privs:
        if privilege not in PRIVILEGES:
            raise ValueError(f"invalid privilege '{privilege}'")
