"""/access/groups, /access/roles and /access/acl."""

from __future__ import annotations

import dataclasses
from typing import Any

from pvecore.acl import AclEntry
from pvecore.paths import is_valid_acl_path, normalize_acl_path
from pvecore.privileges import BUILTIN_ROLES, is_builtin_role, validate_custom_role
from pvecore.text import split_list
from pvecore.usercfg import Group
from pvesim.context import RequestContext
from pvesim.errors import die, param_error
from pvesim.params import Param, opt
from pvesim.routes import endpoint


@endpoint("GET", "/access/groups", permissions={"user": "all"})
async def list_groups(ctx: RequestContext, params: dict[str, Any]) -> Any:
    items = []
    for name, group in sorted(ctx.sim.access.config.groups.items()):
        if ctx.has(f"/access/groups/{name}", ["Sys.Audit", "Group.Allocate"], any_=True):
            item: dict[str, Any] = {"groupid": name, "users": ",".join(sorted(group.members))}
            if group.comment:
                item["comment"] = group.comment
            items.append(item)
    return items


@endpoint(
    "POST",
    "/access/groups",
    params=(opt("comment"), Param("groupid", format="pve-groupid")),
    permissions={"check": ["perm", "/access/groups", ["Group.Allocate"]]},
    protected=True,
)
async def create_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    cfg = ctx.sim.access.config
    name = params["groupid"]
    if name in cfg.groups:
        raise die(f"create group failed: group '{name}' already exists")
    cfg.groups[name] = Group(comment=params.get("comment", ""))
    ctx.sim.access.save()
    return None


def _existing_group(ctx: RequestContext, name: str) -> Group:
    group = ctx.sim.access.config.groups.get(name)
    if group is None:
        raise die(f"group '{name}' does not exist")
    return group


GROUPID = Param("groupid", format="pve-groupid")


@endpoint(
    "GET",
    "/access/groups/{groupid}",
    params=(GROUPID,),
    permissions={"check": ["perm", "/access/groups", ["Sys.Audit", "Group.Allocate"], "any", 1]},
)
async def get_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    group = _existing_group(ctx, params["groupid"])
    result: dict[str, Any] = {"members": sorted(group.members)}
    if group.comment:
        result["comment"] = group.comment
    return result


@endpoint(
    "PUT",
    "/access/groups/{groupid}",
    params=(opt("comment"), GROUPID),
    permissions={"check": ["perm", "/access/groups", ["Group.Allocate"]]},
    protected=True,
)
async def update_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    group = _existing_group(ctx, params["groupid"])
    if "comment" in params:
        cfg = ctx.sim.access.config
        cfg.groups[params["groupid"]] = dataclasses.replace(group, comment=params["comment"])
        ctx.sim.access.save()
    return None


@endpoint(
    "DELETE",
    "/access/groups/{groupid}",
    params=(GROUPID,),
    permissions={"check": ["perm", "/access/groups", ["Group.Allocate"]]},
    protected=True,
)
async def delete_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    name = params["groupid"]
    _existing_group(ctx, name)
    cfg = ctx.sim.access.config
    del cfg.groups[name]
    cfg.acl = [entry for entry in cfg.acl if entry.group != name]
    ctx.sim.access.save()
    return None


def _role_item(name: str, privs: frozenset[str], special: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"roleid": name, "privs": ",".join(sorted(privs))}
    if special:
        item["special"] = 1
    return item


@endpoint("GET", "/access/roles", permissions={"user": "all"})
async def list_roles(ctx: RequestContext, params: dict[str, Any]) -> Any:
    custom = ctx.sim.access.config.custom_roles
    items = [_role_item(name, privs, True) for name, privs in BUILTIN_ROLES.items()]
    items += [_role_item(name, privs, False) for name, privs in custom.items()]
    return sorted(items, key=lambda item: item["roleid"])


@endpoint(
    "POST",
    "/access/roles",
    params=(opt("privs", format="pve-priv-list"), Param("roleid", format="pve-roleid")),
    permissions={"check": ["perm", "/access", ["Sys.Modify"]]},
    protected=True,
)
async def create_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    name = params["roleid"]
    custom = ctx.sim.access.config.custom_roles
    if name in custom or is_builtin_role(name):
        raise die(f"create role failed: role '{name}' already exists")
    privs = frozenset(split_list(params.get("privs", "")))
    try:
        validate_custom_role(name, privs)
    except ValueError as error:
        raise die(f"create role failed: {error}") from None
    custom[name] = privs
    ctx.sim.access.save()
    return None


def _role_privs(ctx: RequestContext, name: str) -> frozenset[str]:
    if name in BUILTIN_ROLES:
        return BUILTIN_ROLES[name]
    if name in ctx.sim.access.config.custom_roles:
        return ctx.sim.access.config.custom_roles[name]
    raise die(f"role '{name}' does not exist")


@endpoint(
    "GET",
    "/access/roles/{roleid}",
    params=(Param("roleid", format="pve-roleid"),),
    permissions={"user": "all"},
)
async def get_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return dict.fromkeys(sorted(_role_privs(ctx, params["roleid"])), 1)


@endpoint(
    "PUT",
    "/access/roles/{roleid}",
    params=(
        opt("append", "boolean"),
        opt("privs", format="pve-priv-list"),
        Param("roleid", format="pve-roleid"),
    ),
    permissions={"check": ["perm", "/access", ["Sys.Modify"]]},
    protected=True,
)
async def update_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    name = params["roleid"]
    if is_builtin_role(name):
        raise die(f"cannot modify built-in role '{name}'")
    current = _role_privs(ctx, name)
    privs = frozenset(split_list(params.get("privs", "")))
    privs = current | privs if params.get("append") else privs
    try:
        validate_custom_role(name, privs)
    except ValueError as error:
        raise die(f"update role failed: {error}") from None
    ctx.sim.access.config.custom_roles[name] = privs
    ctx.sim.access.save()
    return None


@endpoint(
    "DELETE",
    "/access/roles/{roleid}",
    params=(Param("roleid", format="pve-roleid"),),
    permissions={"check": ["perm", "/access", ["Sys.Modify"]]},
    protected=True,
)
async def delete_role(ctx: RequestContext, params: dict[str, Any]) -> Any:
    name = params["roleid"]
    if is_builtin_role(name):
        raise die(f"cannot delete built-in role '{name}'")
    _role_privs(ctx, name)
    cfg = ctx.sim.access.config
    del cfg.custom_roles[name]
    cfg.acl = [entry for entry in cfg.acl if entry.role != name]
    ctx.sim.access.save()
    return None


@endpoint("GET", "/access/acl", permissions={"user": "all"})
async def list_acl(ctx: RequestContext, params: dict[str, Any]) -> Any:
    items = []
    for entry in ctx.sim.access.config.acl:
        if not ctx.has(entry.path, ["Sys.Audit", "Permissions.Modify"], any_=True):
            continue
        kind = "group" if entry.group else "token" if entry.token else "user"
        items.append(
            {
                "path": entry.path,
                "type": kind,
                "ugid": entry.group or entry.token or entry.user,
                "roleid": entry.role,
                "propagate": 1 if entry.propagate else 0,
            }
        )
    return items


@endpoint(
    "PUT",
    "/access/acl",
    params=(
        opt("delete", "boolean"),
        opt("groups", format="pve-groupid-list"),
        Param("path"),
        opt("propagate", "boolean", default=1),
        Param("roles", format="pve-roleid-list"),
        opt("tokens", format="pve-tokenid-list"),
        opt("users", format="pve-userid-list"),
    ),
    permissions={"check": ["perm-modify", "{path}"]},
    protected=True,
)
async def update_acl(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access = ctx.sim.access
    cfg = access.config
    if not is_valid_acl_path(params["path"]):
        raise param_error({"path": f"invalid ACL path '{params['path']}'"})
    path = normalize_acl_path(params["path"])
    users, groups = split_list(params.get("users", "")), split_list(params.get("groups", ""))
    tokens = split_list(params.get("tokens", ""))
    if not (users or groups or tokens):
        raise die("either 'users', 'groups' or 'tokens' is required.")
    roles = split_list(params["roles"])
    for role in roles:
        _role_privs(ctx, role)
    subjects: list[dict[str, str]] = []
    for user in users:
        if not params.get("delete") and user not in cfg.users:
            raise die(f"user '{user}' does not exist")
        subjects.append({"user": user})
    for group in groups:
        if not params.get("delete") and group not in cfg.groups:
            raise die(f"group '{group}' does not exist")
        subjects.append({"group": group})
    for token in tokens:
        if not params.get("delete") and token not in cfg.tokens:
            userid, _, name = token.partition("!")
            raise die(f"no such token '{name}' for user '{userid}'")
        subjects.append({"token": token})
    for subject in subjects:
        for role in roles:
            entry = AclEntry(path, role, params.get("propagate", True), **subject)
            cfg.acl = [
                e
                for e in cfg.acl
                if not (e.path == path and e.role == role and e.subject == entry.subject)
            ]
            if not params.get("delete"):
                cfg.acl.append(entry)
    access.save()
    return None
