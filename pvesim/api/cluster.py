"""/cluster: resources, nextid, status, tasks and backup jobs."""

from __future__ import annotations

import secrets
import time
from typing import Any

from pvesim.context import RequestContext
from pvesim.errors import die, param_error
from pvesim.params import Param, opt
from pvesim.resources import guest_resource, node_resource, storage_resource
from pvesim.routes import endpoint

RECENT_CLUSTER_TASKS = 200


@endpoint(
    "GET",
    "/cluster/resources",
    params=(opt("type", enum=("vm", "storage", "node", "sdn")),),
    permissions={"user": "all"},
)
async def resources(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state, now = ctx.sim.state, int(time.time())
    wanted = params.get("type")
    pools_by_vmid = {
        vmid: pool.name for pool in ctx.sim.access.config.pools.values() for vmid in pool.vms
    }
    items: list[dict[str, Any]] = []
    if wanted in (None, "vm"):
        for vmid in sorted(state.guests):
            if ctx.is_root or ctx.has(f"/vms/{vmid}", ["VM.Audit"]):
                items.append(
                    guest_resource(state, state.guests[vmid], pools_by_vmid.get(vmid), now)
                )
    if wanted in (None, "node"):
        for node in state.nodes.values():
            if ctx.has(f"/nodes/{node.name}", ["Sys.Audit"]):
                items.append(node_resource(state, node, now))
    if wanted in (None, "storage"):
        for node in state.nodes.values():
            for storage in state.storages.values():
                path = f"/storage/{storage.storeid}"
                if ctx.has(path, ["Datastore.Audit", "Datastore.AllocateSpace"], any_=True):
                    items.append(storage_resource(state, storage, node))
    if wanted is None:
        for name, _pool in sorted(ctx.sim.access.config.pools.items()):
            if ctx.has(f"/pool/{name}", ["Pool.Audit"]):
                items.append({"id": f"/pool/{name}", "type": "pool", "pool": name, "status": ""})
    return items


@endpoint(
    "GET",
    "/cluster/nextid",
    params=(opt("vmid", "integer", minimum=100, maximum=999999999, format="pve-vmid"),),
    permissions={"user": "all"},
)
async def nextid(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    if "vmid" in params:
        if params["vmid"] in state.guests:
            raise param_error({"vmid": f"VM {params['vmid']} already exists"})
        return str(params["vmid"])
    # Real PVE answers a string although the schema says integer (FACTS §9).
    return str(state.next_free_vmid())


@endpoint(
    "GET",
    "/cluster/status",
    permissions={"check": ["perm", "/", ["Sys.Audit"]]},
    protected=True,
)
async def cluster_status(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    nodes = list(state.nodes.values())
    online = sum(node.online for node in nodes)
    items: list[dict[str, Any]] = [
        {
            "type": "cluster",
            "id": "cluster",
            "name": state.cluster_name,
            "nodes": len(nodes),
            "version": len(nodes) + 1,
            "quorate": 1 if online * 2 > len(nodes) else 0,
        }
    ]
    for index, node in enumerate(nodes):
        items.append(
            {
                "type": "node",
                "id": f"node/{node.name}",
                "name": node.name,
                "nodeid": node.nodeid,
                "ip": node.ip,
                "online": 1 if node.online else 0,
                "local": 1 if index == 0 else 0,
                "level": "",
            }
        )
    return items


def visible_task(ctx: RequestContext, task_user: str, node: str) -> bool:
    """Owners see their tasks (users also their tokens'), Sys.Audit on the node sees all."""
    if ctx.tokenid is not None:
        own = task_user == ctx.tokenid
    else:
        own = task_user == ctx.userid or task_user.startswith(f"{ctx.userid}!")
    return own or ctx.has(f"/nodes/{node}", ["Sys.Audit"])


@endpoint("GET", "/cluster/tasks", permissions={"user": "all"})
async def cluster_tasks(ctx: RequestContext, params: dict[str, Any]) -> Any:
    manager = ctx.sim.tasks
    tasks = manager.newest_first()
    running = [t for t in tasks if t.running]
    recent = [t for t in tasks if not t.running][:RECENT_CLUSTER_TASKS]
    return [
        manager.list_item(task)
        for task in running + recent
        if visible_task(ctx, task.upid.user, task.upid.node)
    ]


# --- backup jobs (/etc/pve/jobs.cfg, type vzdump) -------------------------------------------
_JOB_OPTIONS = (
    opt("all", "boolean", default=0),
    opt("bwlimit", "integer", minimum=0, default=0),
    opt("comment", max_length=512),
    opt("compress", enum=("0", "1", "gzip", "lzo", "zstd"), default="0"),
    opt("dumpdir"),
    opt("enabled", "boolean", default="1"),
    opt("exclude", format="pve-vmid-list"),
    opt("exclude-path", "array"),
    opt("fleecing", format="backup-fleecing"),
    opt("ionice", "integer", minimum=0, maximum=8, default=7),
    opt("lockwait", "integer", minimum=0, default=180),
    opt("mailnotification", enum=("always", "failure"), default="always"),
    opt("mailto", format="email-or-username-list"),
    opt("maxfiles", "integer", minimum=1),
    opt("mode", enum=("snapshot", "suspend", "stop"), default="snapshot"),
    opt("node", format="pve-node"),
    opt("notes-template", max_length=1024),
    opt(
        "notification-mode", enum=("auto", "legacy-sendmail", "notification-system"), default="auto"
    ),
    opt("pbs-change-detection-mode", enum=("legacy", "data", "metadata")),
    opt("performance", format="backup-performance"),
    opt("pigz", "integer", default=0),
    opt("pool"),
    opt("protected", "boolean"),
    opt("prune-backups", format="prune-backups", default="keep-all=1"),
    opt("quiet", "boolean", default=0),
    opt("remove", "boolean", default=1),
    opt("repeat-missed", "boolean", default=0),
    opt("schedule", max_length=128, format="pve-calendar-event"),
    opt("script"),
    opt("starttime", pattern=r"\d{1,2}:\d{1,2}"),
    opt("stdexcludes", "boolean", default=1),
    opt("stop", "boolean", default=0),
    opt("stopwait", "integer", minimum=0, default=10),
    opt("storage", format="pve-storage-id"),
    opt("tmpdir"),
    opt("vmid", format="pve-vmid-list"),
    opt("zstd", "integer", default=1),
)
JOB_ID = Param("id", pattern=r"\S+", max_length=50)


def _job_values(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: int(value) if isinstance(value, bool) else value
        for key, value in params.items()
        if key not in ("id", "delete", "dow", "starttime")
    }


def _existing_job(ctx: RequestContext, job_id: str) -> dict[str, Any]:
    job = ctx.sim.state.backup_jobs.get(job_id)
    if job is None:
        raise die(f"Job '{job_id}' does not exist")
    return job


@endpoint("GET", "/cluster/backup", permissions={"check": ["perm", "/", ["Sys.Audit"]]})
async def list_backup_jobs(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return [{"id": job_id, **job} for job_id, job in sorted(ctx.sim.state.backup_jobs.items())]


@endpoint(
    "POST",
    "/cluster/backup",
    params=(
        *_JOB_OPTIONS,
        opt("dow", format="pve-day-of-week-list", default="mon,tue,wed,thu,fri,sat,sun"),
        opt("id", format="pve-configid"),
    ),
    permissions={"check": ["perm", "/", ["Sys.Modify"]]},
    protected=True,
)
async def create_backup_job(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    job_id = params.get("id") or f"backup-{secrets.token_hex(4)}-{secrets.token_hex(2)}"
    if job_id in state.backup_jobs:
        raise die(f"Job '{job_id}' already exists")
    if not (params.get("vmid") or params.get("all") or params.get("pool")):
        raise param_error({"vmid": "property is missing and it is not optional"})
    job = {"type": "vzdump", "enabled": 1, **_job_values(params)}
    if "schedule" not in job:
        days = params.get("dow", "mon,tue,wed,thu,fri,sat,sun")
        job["schedule"] = f"{days} {params.get('starttime', '00:00')}"
    state.backup_jobs[job_id] = job
    state.save_cluster()
    return None


@endpoint(
    "GET",
    "/cluster/backup/{id}",
    params=(JOB_ID,),
    permissions={"check": ["perm", "/", ["Sys.Audit"]]},
)
async def get_backup_job(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {"id": params["id"], **_existing_job(ctx, params["id"])}


@endpoint(
    "PUT",
    "/cluster/backup/{id}",
    params=(
        *_JOB_OPTIONS,
        opt("delete", format="pve-configid-list"),
        opt("dow", format="pve-day-of-week-list"),
        JOB_ID,
    ),
    permissions={"check": ["perm", "/", ["Sys.Modify"]]},
    protected=True,
)
async def update_backup_job(ctx: RequestContext, params: dict[str, Any]) -> Any:
    job = _existing_job(ctx, params["id"])
    for key in (params.get("delete") or "").replace(";", ",").split(","):
        job.pop(key.strip(), None)
    job.update(_job_values(params))
    ctx.sim.state.save_cluster()
    return None


@endpoint(
    "DELETE",
    "/cluster/backup/{id}",
    params=(JOB_ID,),
    permissions={"check": ["perm", "/", ["Sys.Modify"]]},
    protected=True,
)
async def delete_backup_job(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _existing_job(ctx, params["id"])
    del ctx.sim.state.backup_jobs[params["id"]]
    ctx.sim.state.save_cluster()
    return None
