"""What each built-in role is for, in PVE's own words (pveum.adoc, "Roles")."""

from django.utils.translation import gettext_lazy as _

BUILTIN_ROLE_DESCRIPTIONS = {
    "Administrator": _("Has full privileges."),
    "NoAccess": _("Has no privileges (used to forbid access)."),
    "PVEAdmin": _("Can do most tasks, but has no rights to modify system settings or permissions."),
    "PVEAuditor": _("Has read only access."),
    "PVEDatastoreAdmin": _("Create and allocate backup space and templates."),
    "PVEDatastoreUser": _("Allocate backup space and view storage."),
    "PVEMappingAdmin": _("Manage resource mappings."),
    "PVEMappingUser": _("View and use resource mappings."),
    "PVEPoolAdmin": _("Allocate pools."),
    "PVEPoolUser": _("View pools."),
    "PVESDNAdmin": _("Manage SDN configuration."),
    "PVESDNUser": _("Access to bridges and VNets."),
    "PVESysAdmin": _("Audit, system console and system logs."),
    "PVETemplateUser": _("View and clone templates."),
    "PVEUserAdmin": _("Manage users."),
    "PVEVMAdmin": _("Fully administer VMs."),
    "PVEVMUser": _("View, backup, configure CD-ROM, VM console, VM power management."),
}


def role_description(name: str) -> str:
    return str(BUILTIN_ROLE_DESCRIPTIONS.get(name, _("Custom role.")))
