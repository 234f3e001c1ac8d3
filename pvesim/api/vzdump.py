"""vzdump backups: POST /nodes/{node}/vzdump and GET .../vzdump/extractconfig.

A backup is a ``backup`` volume named like vzdump's archives that also keeps the guest config,
so restore (qemu/lxc create with ``archive`` / ``restore=1``) can rebuild the guest.
"""

from __future__ import annotations

import datetime
from typing import Any

from pvecore.guestconfig import parse_size
from pvecore.text import split_list
from pvecore.volumes import backup_volname
from pvesim import disks
from pvesim.api.storage import check_volume_access
from pvesim.context import RequestContext
from pvesim.errors import die, param_error
from pvesim.params import NODE, Param, opt
from pvesim.routes import endpoint
from pvesim.state import Guest, Volume
from pvesim.tasks import TaskContext, TaskError
from pvesim.users import ROOT

ROOT_ONLY = ("tmpdir", "dumpdir", "script", "job-id")
COMPRESSION = {"0": "0", "1": "lzo", "gzip": "gzip", "lzo": "lzo", "zstd": "zstd"}
BACKUP_SECONDS_PER_GIB = 0.5


def _render_notes(template: str, guest: Guest, node: str, cluster: str) -> str:
    return (
        template.replace("{{cluster}}", cluster)
        .replace("{{guestname}}", guest.name)
        .replace("{{node}}", node)
        .replace("{{vmid}}", str(guest.vmid))
    )


def _log_no_space(task: TaskContext, guest: Guest) -> None:
    """The archive outgrew the storage's room: vzdump's words when the write hits ENOSPC
    (QEMU's backup job; for a container, the compressor behind tar)."""
    if guest.kind == "qemu":
        reason = "job failed with err -28 - No space left on device"
        task.log(f"ERROR: {reason}")
        task.log("INFO: aborting backup job")
    else:
        task.log(
            "INFO: zstd: error 70 : Write error : cannot write block : No space left on device"
        )
        reason = "command 'set -o pipefail && tar cpf - ... | zstd' failed: exit code 70"
    task.log(f"ERROR: Backup of VM {guest.vmid} failed - {reason}")


def _disk_bytes(guest: Guest) -> int:
    total = 0
    for key, value in guest.config.items():
        if disks.is_disk_key(guest.kind, key):
            props = disks.disk_properties(value)
            if not disks.is_cdrom(props) and "size" in props:
                total += parse_size(props["size"])
    return total


@endpoint(
    "POST",
    "/nodes/{node}/vzdump",
    params=(
        opt("all", "boolean", default=0),
        opt("bwlimit", "integer", minimum=0, default=0),
        opt("compress", enum=("0", "1", "gzip", "lzo", "zstd"), default="0"),
        opt("dumpdir"),
        opt("exclude", format="pve-vmid-list"),
        opt("exclude-path", "array"),
        opt("fleecing", format="backup-fleecing"),
        opt("ionice", "integer", minimum=0, maximum=8, default=7),
        opt("job-id", pattern=r"\S+", max_length=50),
        opt("lockwait", "integer", minimum=0, default=180),
        opt("mailnotification", enum=("always", "failure"), default="always"),
        opt("mailto", format="email-or-username-list"),
        opt("maxfiles", "integer", minimum=1),
        opt("mode", enum=("snapshot", "suspend", "stop"), default="snapshot"),
        # The schema declares `node` optional ("only run if executed on this node") while
        # the path makes it required in practice.
        Param("node", optional=True, format="pve-node"),
        opt("notes-template", max_length=1024),
        opt(
            "notification-mode",
            enum=("auto", "legacy-sendmail", "notification-system"),
            default="auto",
        ),
        opt("pbs-change-detection-mode", enum=("legacy", "data", "metadata")),
        opt("performance", format="backup-performance"),
        opt("pigz", "integer", default=0),
        opt("pool"),
        opt("protected", "boolean"),
        opt("prune-backups", format="prune-backups", default="keep-all=1"),
        opt("quiet", "boolean", default=0),
        opt("remove", "boolean", default=1),
        opt("script"),
        opt("stdexcludes", "boolean", default=1),
        opt("stdout", "boolean"),
        opt("stop", "boolean", default=0),
        opt("stopwait", "integer", minimum=0, default=10),
        opt("storage", format="pve-storage-id"),
        opt("tmpdir"),
        opt("vmid", format="pve-vmid-list"),
        opt("zstd", "integer", default=1),
    ),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def vzdump(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    node = params["node"]
    for key in ROOT_ONLY:
        if key in params and ctx.principal != ROOT:
            raise param_error({key: "Only root may set this option."})
    storeid = params.get("storage", "local")
    storage = state.storage(storeid)
    if "backup" not in storage.content:
        raise die(f"storage '{storeid}' does not support backups")
    ctx.require(f"/storage/{storeid}", ["Datastore.AllocateSpace"])
    if params.get("all"):
        excluded = {int(v) for v in split_list(params.get("exclude", ""))}
        vmids = [
            vmid for vmid, g in state.guests.items() if g.node == node and vmid not in excluded
        ]
    elif pool := params.get("pool"):
        vmids = (
            sorted(ctx.sim.access.config.pools[pool].vms)
            if pool in ctx.sim.access.config.pools
            else []
        )
    else:
        vmids = [int(v) for v in split_list(params.get("vmid", ""))]
        if not vmids:
            raise param_error({"vmid": "property is missing and it is not optional"})
    for vmid in vmids:
        ctx.require(f"/vms/{vmid}", ["VM.Backup"])
    local = [vmid for vmid in vmids if vmid in state.guests and state.guests[vmid].node == node]
    compress = COMPRESSION[params.get("compress", "0")]

    async def work(task: TaskContext) -> None:
        task.log(
            f"INFO: starting new backup job: vzdump {' '.join(map(str, vmids))}"
            f" --storage {storeid} --mode {params.get('mode', 'snapshot')}"
            f" --compress {params.get('compress', '0')}"
        )
        skipped = [vmid for vmid in vmids if vmid not in local]
        if skipped:
            task.log(f"INFO: skip external VMs: {', '.join(map(str, skipped))}")
        failures = 0
        for vmid in local:
            guest = state.guests.get(vmid)
            if guest is None:
                continue
            kind_text = "qemu" if guest.kind == "qemu" else "lxc"
            task.log(f"INFO: Starting Backup of VM {vmid} ({kind_text})")
            if guest.lock:
                failures += 1
                task.log(
                    f"ERROR: Backup of VM {vmid} failed - "
                    f"{'VM' if guest.kind == 'qemu' else 'CT'} is locked ({guest.lock})"
                )
                continue
            started = datetime.datetime.now()
            guest.config["lock"] = "backup"
            state.save_guest(guest)
            try:
                await task.sleep(5 + _disk_bytes(guest) / 1024**3 * BACKUP_SECONDS_PER_GIB)
            finally:
                guest.config.pop("lock", None)
                state.save_guest(guest)
            archive_size = max(_disk_bytes(guest) // 4, 1024**2)
            if state.storage_used(storeid, node) + archive_size > storage.total:
                failures += 1
                _log_no_space(task, guest)
                continue
            volumes = state.storage_volumes(storeid, node)
            volname = backup_volname(
                guest_type=guest.kind, vmid=vmid, started=started, compress=compress
            )
            # Names have whole seconds: a real vzdump never ends within the second it began,
            # a fast simulated one may, and must not replace the guest's previous archive.
            while f"{storeid}:{volname}" in volumes:
                started += datetime.timedelta(seconds=1)
                volname = backup_volname(
                    guest_type=guest.kind, vmid=vmid, started=started, compress=compress
                )
            volume = Volume(
                volid=f"{storeid}:{volname}",
                content="backup",
                size=archive_size,
                format=volname.rsplit("/", 1)[-1].split(".", 1)[1],
                ctime=int(started.timestamp()),
                vmid=vmid,
                notes=_render_notes(
                    params.get("notes-template", "{{guestname}}"), guest, node, state.cluster_name
                ),
                protected=bool(params.get("protected")),
                guest_config=state.config_text(guest).split("\n[", 1)[0],
                subtype=guest.kind,
            )
            volumes[volume.volid] = volume
            state.save_volumes(storeid, node)
            task.log(f"INFO: creating vzdump archive '{volume.volid}'")
            task.log(f"INFO: Finished Backup of VM {vmid}")
        if failures:
            raise TaskError("job errors")
        task.log("INFO: Backup job finished successfully")

    return ctx.sim.tasks.start(
        node=node,
        type_="vzdump",
        id_=str(local[0]) if len(local) == 1 else "",
        user=ctx.task_user,
        worker=work,
    )


@endpoint(
    "GET",
    "/nodes/{node}/vzdump/extractconfig",
    params=(NODE, Param("volume")),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def extractconfig(ctx: RequestContext, params: dict[str, Any]) -> Any:
    volume = ctx.sim.state.find_volume(params["volume"], params["node"])
    if volume is None or volume.content != "backup":
        raise die(f"volume '{params['volume']}' does not exist")
    check_volume_access(ctx, volume)
    return volume.guest_config or ""
