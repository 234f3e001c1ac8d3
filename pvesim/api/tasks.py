"""/nodes/{node}/tasks: list, status, log and stop (FACTS §6)."""

from __future__ import annotations

from typing import Any

from pvecore.text import split_list
from pvecore.upid import Upid
from pvesim.api.cluster import visible_task
from pvesim.context import Reply, RequestContext
from pvesim.errors import param_error, permission_denied
from pvesim.params import NODE, Param, opt
from pvesim.routes import endpoint
from pvesim.tasks import Task, TaskManager

UPID = Param("upid")
DEFAULT_LOG_LIMIT = 50


@endpoint(
    "GET",
    "/nodes/{node}/tasks",
    params=(
        opt("errors", "boolean", default=0),
        opt("limit", "integer", minimum=0, default=50),
        NODE,
        opt("since", "integer"),
        opt("source", enum=("archive", "active", "all"), default="archive"),
        opt("start", "integer", minimum=0, default=0),
        opt("statusfilter", format="pve-task-status-type-list"),
        opt("typefilter"),
        opt("until", "integer"),
        opt("userfilter"),
        opt("vmid", "integer", minimum=100, maximum=999999999, format="pve-vmid"),
    ),
    permissions={"user": "all"},
    proxyto="node",
)
async def list_tasks(ctx: RequestContext, params: dict[str, Any]) -> Any:
    manager = ctx.sim.tasks
    source = params.get("source", "archive")
    statuses = set(split_list(params.get("statusfilter", "")))
    selected: list[Task] = []
    for task in manager.newest_first():
        upid = task.upid
        if upid.node != params["node"] or not visible_task(ctx, upid.user, upid.node):
            continue
        if (source == "archive" and task.running) or (source == "active" and not task.running):
            continue
        if params.get("errors") and not manager.is_error(task):
            continue
        if statuses and manager.status_type(task) not in statuses:
            continue
        if params.get("typefilter") and upid.type != params["typefilter"]:
            continue
        if params.get("userfilter") and params["userfilter"] not in upid.user:
            continue
        if "vmid" in params and upid.id != str(params["vmid"]):
            continue
        if "since" in params and upid.starttime < params["since"]:
            continue
        if "until" in params and upid.starttime > params["until"]:
            continue
        selected.append(task)
    start, limit = params.get("start", 0), params.get("limit", 50)
    page = selected[start : start + limit]
    return Reply([TaskManager.list_item(task) for task in page], total=len(selected))


def _task(ctx: RequestContext, params: dict[str, Any]) -> Task:
    try:
        upid = Upid.decode(params["upid"])
    except ValueError:
        raise param_error({"upid": "unable to parse worker upid"}) from None
    task = ctx.sim.tasks.get(params["upid"])
    if task is None or upid.node != params["node"]:
        raise param_error({"upid": "no such task"})
    return task


def _require_owner_or(ctx: RequestContext, task: Task, privilege: str) -> None:
    user = task.upid.user
    own = user == ctx.principal or (ctx.tokenid is None and user.startswith(f"{ctx.userid}!"))
    if not own and not ctx.has(f"/nodes/{task.upid.node}", [privilege]):
        raise permission_denied()


@endpoint(
    "GET",
    "/nodes/{node}/tasks/{upid}/status",
    params=(NODE, UPID),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def task_status(ctx: RequestContext, params: dict[str, Any]) -> Any:
    task = _task(ctx, params)
    _require_owner_or(ctx, task, "Sys.Audit")
    return TaskManager.status_item(task)


@endpoint(
    "GET",
    "/nodes/{node}/tasks/{upid}/log",
    params=(
        opt("download", "boolean"),
        opt("limit", "integer", minimum=0, default=50),
        NODE,
        opt("start", "integer", minimum=0, default=0),
        UPID,
    ),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def task_log(ctx: RequestContext, params: dict[str, Any]) -> Any:
    task = _task(ctx, params)
    _require_owner_or(ctx, task, "Sys.Audit")
    start = params.get("start", 0)
    # PVE::Tools::dump_logfile treats a zero limit like the default.
    limit = params.get("limit") or DEFAULT_LOG_LIMIT
    lines = task.lines[start : start + limit]
    items = [{"n": start + index + 1, "t": text} for index, text in enumerate(lines)]
    return Reply(items, total=len(task.lines))


@endpoint(
    "DELETE",
    "/nodes/{node}/tasks/{upid}",
    params=(NODE, UPID),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def stop_task(ctx: RequestContext, params: dict[str, Any]) -> Any:
    task = _task(ctx, params)
    _require_owner_or(ctx, task, "Sys.Modify")
    ctx.sim.tasks.abort(task.text)
    return None
