"""/access/users and their API tokens, and password changes."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from pvecore.acl import Token
from pvecore.ids import split_userid
from pvecore.text import split_list
from pvecore.usercfg import User
from pvesim.context import RequestContext
from pvesim.errors import die
from pvesim.params import TOKENID_PATTERN, USERID, Param, opt
from pvesim.routes import endpoint

TOKENID = Param("tokenid", pattern=TOKENID_PATTERN)
SELF_OR_USER_MODIFY = {"check": ["or", ["userid-param", "self"], ["userid-group", ["User.Modify"]]]}
REALMS = {
    "pam": {"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
    "pve": {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"},
}


def _user_item(ctx: RequestContext, userid: str, user: User, *, full: bool) -> dict[str, Any]:
    cfg = ctx.sim.access.config
    groups = sorted(name for name, group in cfg.groups.items() if userid in group.members)
    item: dict[str, Any] = {
        "userid": userid,
        "enable": 1 if user.enable else 0,
        "expire": user.expire,
        "realm-type": split_userid(userid)[1] if split_userid(userid)[1] in REALMS else "pve",
    }
    for key in ("firstname", "lastname", "email", "comment", "keys"):
        if value := getattr(user, key):
            item[key] = value
    if groups:
        item["groups"] = ",".join(groups)
    if ctx.sim.access.totp_locked(userid):
        item["totp-locked"] = 1
    if full:
        item["tokens"] = [
            _token_info(token) | {"tokenid": token.name}
            for token in cfg.tokens.values()
            if token.userid == userid
        ]
    return item


def _can_see_user(ctx: RequestContext, userid: str) -> bool:
    if userid == ctx.userid or ctx.has("/access/groups", ["User.Modify", "Sys.Audit"], any_=True):
        return True
    groups = ctx.sim.access.model().groups_of(userid)
    return any(
        ctx.has(f"/access/groups/{group}", ["User.Modify", "Sys.Audit"], any_=True)
        for group in groups
    )


@endpoint(
    "GET",
    "/access/users",
    params=(opt("enabled", "boolean"), opt("full", "boolean", default=0)),
    permissions={"user": "all"},
    protected=True,
)
async def list_users(ctx: RequestContext, params: dict[str, Any]) -> Any:
    items = []
    for userid, user in sorted(ctx.sim.access.config.users.items()):
        if "enabled" in params and user.enable != params["enabled"]:
            continue
        if _can_see_user(ctx, userid):
            items.append(_user_item(ctx, userid, user, full=params.get("full", False)))
    return items


_USER_FIELDS = (
    opt("comment", max_length=2048),
    opt("email", max_length=254, format="email-opt"),
    opt("enable", "boolean", default=1),
    opt("expire", "integer", minimum=0),
    opt("firstname", max_length=1024),
    opt("groups", format="pve-groupid-list"),
    opt("keys", pattern="[0-9a-zA-Z!=]{0,4096}"),
    opt("lastname", max_length=1024),
)


def _set_groups(ctx: RequestContext, userid: str, groups: list[str], *, append: bool) -> None:
    cfg = ctx.sim.access.config
    for name in groups:
        if name not in cfg.groups:
            raise die(f"no such group '{name}'")
    for name, group in list(cfg.groups.items()):
        member = userid in group.members
        wanted = name in groups or (append and member)
        if wanted != member:
            members = group.members | {userid} if wanted else group.members - {userid}
            cfg.groups[name] = dataclasses.replace(group, members=frozenset(members))


@endpoint(
    "POST",
    "/access/users",
    params=(
        *_USER_FIELDS,
        opt("password", max_length=64, min_length=8),
        USERID,
    ),
    permissions={
        "check": [
            "and",
            ["userid-param", "Realm.AllocateUser"],
            ["userid-group", ["User.Modify"], "groups_param", "create"],
        ]
    },
    protected=True,
)
async def create_user(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access = ctx.sim.access
    userid: str = params["userid"]
    realm = split_userid(userid)[1]
    if realm not in REALMS:
        raise die(f"create user failed: domain '{realm}' does not exist")
    if access.user_exists(userid):
        raise die(f"create user failed: user '{userid}' already exists")
    access.config.users[userid] = User(
        enable=params.get("enable", True),
        expire=params.get("expire", 0),
        **{k: params.get(k, "") for k in ("firstname", "lastname", "email", "comment", "keys")},
    )
    _set_groups(ctx, userid, split_list(params.get("groups", "")), append=False)
    access.save()
    if password := params.get("password"):
        access.set_password(userid, password)
    return None


def existing_user(ctx: RequestContext, userid: str) -> User:
    user = ctx.sim.access.config.users.get(userid)
    if user is None:
        raise die(f"no such user ('{userid}')")
    return user


@endpoint(
    "GET",
    "/access/users/{userid}",
    params=(USERID,),
    permissions={"check": ["userid-group", ["User.Modify", "Sys.Audit"]]},
)
async def get_user(ctx: RequestContext, params: dict[str, Any]) -> Any:
    userid = params["userid"]
    item = _user_item(ctx, userid, existing_user(ctx, userid), full=False)
    del item["userid"]
    item["groups"] = split_list(item.get("groups", ""))
    item["tokens"] = {
        token.name: _token_info(token)
        for token in ctx.sim.access.config.tokens.values()
        if token.userid == userid
    }
    return item


@endpoint(
    "PUT",
    "/access/users/{userid}",
    params=(opt("append", "boolean"), *_USER_FIELDS, USERID),
    permissions={"check": ["userid-group", ["User.Modify"], "groups_param", "update"]},
    protected=True,
)
async def update_user(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access = ctx.sim.access
    userid = params["userid"]
    user = existing_user(ctx, userid)
    changes = {
        key: params[key]
        for key in ("enable", "expire", "firstname", "lastname", "email", "comment", "keys")
        if key in params
    }
    access.config.users[userid] = dataclasses.replace(user, **changes)
    if "groups" in params:
        groups = split_list(params["groups"])
        _set_groups(ctx, userid, groups, append=params.get("append", False))
    access.save()
    return None


@endpoint(
    "DELETE",
    "/access/users/{userid}",
    params=(USERID,),
    permissions={
        "check": [
            "and",
            ["userid-param", "Realm.AllocateUser"],
            ["userid-group", ["User.Modify"]],
        ]
    },
    protected=True,
)
async def delete_user(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access = ctx.sim.access
    userid = params["userid"]
    existing_user(ctx, userid)
    del access.config.users[userid]
    _set_groups(ctx, userid, [], append=False)
    access.config.acl = [
        e
        for e in access.config.acl
        if e.user != userid and not (e.token or "").startswith(userid + "!")
    ]
    access.forget_user(userid)
    access.save()
    return None


@endpoint(
    "PUT",
    "/access/password",
    params=(
        opt("confirmation-password", max_length=64, min_length=5),
        Param("password", max_length=64, min_length=8),
        USERID,
    ),
    permissions={
        "check": [
            "or",
            ["userid-param", "self"],
            [
                "and",
                ["userid-param", "Realm.AllocateUser"],
                ["userid-group", ["User.Modify"]],
            ],
        ]
    },
    allowtoken=False,
    protected=True,
)
async def change_password(ctx: RequestContext, params: dict[str, Any]) -> Any:
    userid = params["userid"]
    existing_user(ctx, userid)
    ctx.sim.access.set_password(userid, params["password"])
    return None


# --- API tokens -----------------------------------------------------------------------------
def _token_info(token: Token) -> dict[str, Any]:
    info: dict[str, Any] = {"privsep": 1 if token.privsep else 0, "expire": token.expire}
    if token.comment:
        info["comment"] = token.comment
    return info


def _existing_token(ctx: RequestContext, userid: str, name: str) -> Token:
    token = ctx.sim.access.config.tokens.get(f"{userid}!{name}")
    if token is None:
        raise die(f"no such token '{name}' for user '{userid}'")
    return token


@endpoint(
    "GET",
    "/access/users/{userid}/token",
    params=(USERID,),
    permissions=SELF_OR_USER_MODIFY,
)
async def list_tokens(ctx: RequestContext, params: dict[str, Any]) -> Any:
    userid = params["userid"]
    existing_user(ctx, userid)
    return [
        {"tokenid": token.name, **_token_info(token)}
        for token in ctx.sim.access.config.tokens.values()
        if token.userid == userid
    ]


@endpoint(
    "POST",
    "/access/users/{userid}/token/{tokenid}",
    params=(
        opt("comment"),
        opt("expire", "integer", minimum=0, default="same as user"),
        opt("privsep", "boolean", default=1),
        TOKENID,
        USERID,
    ),
    permissions=SELF_OR_USER_MODIFY,
    protected=True,
)
async def create_token(ctx: RequestContext, params: dict[str, Any]) -> Any:
    userid, name = params["userid"], params["tokenid"]
    user = existing_user(ctx, userid)
    full = f"{userid}!{name}"
    if full in ctx.sim.access.config.tokens:
        raise die("Token already exists.")
    token = Token(
        tokenid=full,
        privsep=params.get("privsep", True),
        expire=params.get("expire", user.expire),
        comment=params.get("comment", ""),
    )
    secret = str(uuid.uuid4())
    ctx.sim.access.add_token(token, secret)
    return {"full-tokenid": full, "info": _token_info(token), "value": secret}


@endpoint(
    "GET",
    "/access/users/{userid}/token/{tokenid}",
    params=(TOKENID, USERID),
    permissions=SELF_OR_USER_MODIFY,
)
async def get_token(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return _token_info(_existing_token(ctx, params["userid"], params["tokenid"]))


@endpoint(
    "PUT",
    "/access/users/{userid}/token/{tokenid}",
    params=(
        opt("comment"),
        opt("delete", format="pve-configid-list"),
        opt("expire", "integer", minimum=0, default="same as user"),
        opt("privsep", "boolean", default=1),
        TOKENID,
        USERID,
    ),
    permissions=SELF_OR_USER_MODIFY,
    protected=True,
)
async def update_token(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access = ctx.sim.access
    token = _existing_token(ctx, params["userid"], params["tokenid"])
    changes = {k: params[k] for k in ("comment", "expire", "privsep") if k in params}
    for key in split_list(params.get("delete", "")):
        changes[key] = {"comment": "", "expire": 0, "privsep": True}.get(key)
    token = dataclasses.replace(token, **changes)
    access.config.tokens[token.tokenid] = token
    access.save()
    return _token_info(token)


@endpoint(
    "DELETE",
    "/access/users/{userid}/token/{tokenid}",
    params=(TOKENID, USERID),
    permissions=SELF_OR_USER_MODIFY,
    protected=True,
)
async def delete_token(ctx: RequestContext, params: dict[str, Any]) -> Any:
    token = _existing_token(ctx, params["userid"], params["tokenid"])
    ctx.sim.access.remove_token(token.tokenid)
    return None
