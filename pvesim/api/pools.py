"""/pools: resource pools and their members."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from pvecore.acl import Pool
from pvecore.text import split_list
from pvesim.context import RequestContext
from pvesim.errors import die
from pvesim.params import Param, opt
from pvesim.resources import guest_resource, storage_resource
from pvesim.routes import endpoint

POOLID = Param("poolid", format="pve-poolid")
POOL_ALLOCATE = {"check": ["perm", "/pool/{poolid}", ["Pool.Allocate"]]}


def _pool_members(ctx: RequestContext, pool: Pool, kind: str | None) -> list[dict[str, Any]]:
    state, now = ctx.sim.state, int(time.time())
    members = []
    for vmid in sorted(pool.vms):
        guest = state.guests.get(vmid)
        if guest and kind in (None, guest.kind):
            members.append(guest_resource(state, guest, pool.name, now))
    if kind in (None, "storage"):
        for storeid in sorted(pool.storages):
            storage = state.storages.get(storeid)
            if storage is None:
                continue
            for node in state.nodes.values():
                members.append(storage_resource(state, storage, node))
    return members


def _existing_pool(ctx: RequestContext, name: str) -> Pool:
    pool = ctx.sim.access.config.pools.get(name)
    if pool is None:
        raise die(f"pool '{name}' does not exist")
    return pool


@endpoint(
    "GET",
    "/pools",
    params=(
        opt("poolid", format="pve-poolid"),
        opt("type", enum=("qemu", "lxc", "storage")),
    ),
    permissions={"user": "all"},
)
async def list_pools(ctx: RequestContext, params: dict[str, Any]) -> Any:
    items = []
    for name, pool in sorted(ctx.sim.access.config.pools.items()):
        if params.get("poolid") not in (None, name):
            continue
        if not ctx.has(f"/pool/{name}", ["Pool.Audit"]):
            continue
        item: dict[str, Any] = {"poolid": name}
        if pool.comment:
            item["comment"] = pool.comment
        if "poolid" in params:
            item["members"] = _pool_members(ctx, pool, params.get("type"))
        items.append(item)
    return items


@endpoint(
    "POST",
    "/pools",
    params=(opt("comment"), POOLID),
    permissions=POOL_ALLOCATE,
    protected=True,
)
async def create_pool(ctx: RequestContext, params: dict[str, Any]) -> Any:
    pools = ctx.sim.access.config.pools
    name = params["poolid"]
    if name in pools:
        raise die(f"create pool failed: pool '{name}' already exists")
    parent = name.rpartition("/")[0]
    if parent and parent not in pools:
        raise die(f"parent '{parent}' does not exist")
    pools[name] = Pool(name=name, comment=params.get("comment", ""))
    ctx.sim.access.save()
    return None


@endpoint(
    "PUT",
    "/pools",
    params=(
        opt("allow-move", "boolean", default=0),
        opt("comment"),
        opt("delete", "boolean", default=0),
        POOLID,
        opt("storage", format="pve-storage-id-list"),
        opt("vms", format="pve-vmid-list"),
    ),
    permissions=POOL_ALLOCATE,
    protected=True,
)
async def update_pool(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access = ctx.sim.access
    pool = _existing_pool(ctx, params["poolid"])
    vms, storages = set(pool.vms), set(pool.storages)
    delete = params.get("delete", False)
    for vmid in (int(v) for v in split_list(params.get("vms", ""))):
        ctx.require(f"/vms/{vmid}", ["VM.Allocate"])
        if delete:
            if vmid not in vms:
                raise die(f"VM {vmid} is not a pool member")
            vms.discard(vmid)
            continue
        if vmid not in ctx.sim.state.guests:
            raise die(f"no such VM '{vmid}'")
        current = access.pool_of(vmid)
        if current and current != pool.name:
            if not params.get("allow-move"):
                raise die(f"VM {vmid} is already a pool member")
            old = access.config.pools[current]
            access.config.pools[current] = dataclasses.replace(old, vms=old.vms - {vmid})
        vms.add(vmid)
    for storeid in split_list(params.get("storage", "")):
        ctx.require(f"/storage/{storeid}", ["Datastore.Allocate"])
        if delete:
            storages.discard(storeid)
        else:
            ctx.sim.state.storage(storeid)
            storages.add(storeid)
    comment = params.get("comment", pool.comment)
    access.config.pools[pool.name] = dataclasses.replace(
        pool, vms=frozenset(vms), storages=frozenset(storages), comment=comment
    )
    access.save()
    return None


@endpoint("DELETE", "/pools", params=(POOLID,), permissions=POOL_ALLOCATE, protected=True)
async def delete_pool(ctx: RequestContext, params: dict[str, Any]) -> Any:
    pool = _existing_pool(ctx, params["poolid"])
    if pool.vms or pool.storages:
        raise die(f"delete pool failed: pool '{pool.name}' is not empty")
    del ctx.sim.access.config.pools[pool.name]
    ctx.sim.access.save()
    return None


@endpoint(
    "GET",
    "/pools/{poolid}",
    params=(POOLID, opt("type", enum=("qemu", "lxc", "storage"))),
    permissions={"check": ["perm", "/pool/{poolid}", ["Pool.Audit"]]},
)
async def get_pool(ctx: RequestContext, params: dict[str, Any]) -> Any:
    pool = _existing_pool(ctx, params["poolid"])
    result: dict[str, Any] = {"members": _pool_members(ctx, pool, params.get("type"))}
    if pool.comment:
        result["comment"] = pool.comment
    return result
