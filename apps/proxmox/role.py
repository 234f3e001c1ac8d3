"""The PVE role the portal's API token needs, and nothing more.

Each privilege is there for a call the portal makes (README, "Connecting a real Proxmox VE
cluster"); tests/guests/test_least_privilege.py runs the whole guest lifecycle against pvesim with
a privilege-separated token holding only this role on `/`.
"""

PORTAL_ROLE_NAME = "PortalAutomation"
PORTAL_ROLE_PRIVILEGES = (
    "Sys.Audit",  # /cluster/status, node status, other users' task status and logs
    "Datastore.Audit",  # storages in /cluster/resources
    "Datastore.AllocateSpace",  # disks of new clones, disk growth
    "Pool.Allocate",  # a tenant's pool on first use, guests into it
    "VM.Audit",  # guests, configs, status
    "VM.Allocate",  # create (clone) and delete guests
    "VM.Clone",  # clone templates
    "VM.Config.CPU",  # cores from the plan
    "VM.Config.Memory",  # memory from the plan
    "VM.Config.Disk",  # grow the disk to the plan
    "VM.Config.Cloudinit",  # user, SSH keys, IP configuration
    "VM.Config.Options",  # name, tags, notes; boot order and OS type of new VMs
    "VM.Config.CDROM",  # the ISO of a VM installed from one
    "VM.Config.Network",  # the network card of new VMs and containers
    "VM.Config.HWType",  # the disk controller of new VMs
    "VM.PowerMgmt",  # start, stop, shutdown, reboot, reset, suspend, resume
    "VM.Snapshot",  # take and delete snapshots
    "VM.Snapshot.Rollback",  # roll back to one
    "VM.Backup",  # vzdump
    "VM.Console",  # consoles (vncproxy, termproxy) for the portal's proxy
    "VM.GuestAgent.Unrestricted",  # a running VM's password through its agent (billing)
)
