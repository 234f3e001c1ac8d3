"""/access/ticket (login, renewal, TOTP step), permissions, realms, TOTP factors, /version."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import urllib.parse
from typing import Any

import pvesim
from pvecore.privileges import PRIVILEGES
from pvecore.text import split_list
from pvesim.api.accounts import REALMS, SELF_OR_USER_MODIFY, existing_user
from pvesim.auth import totp_matches
from pvesim.context import RequestContext
from pvesim.errors import PveError, die, param_error, permission_denied
from pvesim.params import USERID, Param, opt
from pvesim.routes import endpoint
from pvesim.users import ROOT

# Top-level areas of the `cap` map and the privilege prefixes each one reports
# (PVE::API2::AccessControl compute_api_permission).
CAP_AREAS = {
    "vms": ("/vms", ("VM.", "Permissions.Modify")),
    "storage": ("/storage", ("Datastore.", "Permissions.Modify")),
    "access": ("/access", ("User.", "Group.", "Permissions.Modify", "Realm.")),
    "nodes": ("/nodes", ("Sys.", "Permissions.Modify")),
    "dc": ("/", ("Sys.Audit", "Sys.Modify", "SDN.", "Mapping.")),
    "sdn": ("/sdn", ("SDN.", "Permissions.Modify")),
    "mapping": ("/mapping", ("Mapping.", "Permissions.Modify")),
}


def _auth_failure() -> PveError:
    return PveError(401, "authentication failure")


def _capabilities(ctx: RequestContext, principal: str) -> dict[str, dict[str, int]]:
    tree = ctx.sim.access.model().permission_tree(principal)
    if principal == ROOT:
        tree = {"/": frozenset(PRIVILEGES)}
    caps: dict[str, dict[str, int]] = {}
    for area, (prefix, wanted) in CAP_AREAS.items():
        privs: set[str] = set()
        for path, granted in tree.items():
            in_area = path == prefix or path.startswith(prefix + "/") or path == "/"
            if prefix in ("/vms", "/storage") and path.startswith("/pool"):
                in_area = True
            if in_area:
                privs.update(p for p in granted if p.startswith(wanted))
        caps[area] = dict.fromkeys(sorted(privs), 1)
    return caps


def _login_result(ctx: RequestContext, userid: str) -> dict[str, Any]:
    signer = ctx.sim.signer
    result: dict[str, Any] = {
        "username": userid,
        "ticket": signer.create_ticket(userid),
        "CSRFPreventionToken": signer.create_csrf_token(userid),
        "cap": _capabilities(ctx, userid),
    }
    if ctx.sim.access.model().has_privileges(userid, "/", ["Sys.Audit"]):
        result["clustername"] = ctx.sim.state.cluster_name
    return result


@endpoint(
    "POST",
    "/access/ticket",
    params=(
        opt("new-format", "boolean", default=1),
        opt("otp"),
        Param("password"),
        opt("path", max_length=64),
        opt("privs", max_length=64, format="pve-priv-list"),
        opt("realm", max_length=32, format="pve-realm"),
        opt("tfa-challenge"),
        Param("username", max_length=64),
    ),
    permissions={"user": "world"},
    allowtoken=False,
    protected=True,
)
async def create_ticket(ctx: RequestContext, params: dict[str, Any]) -> Any:
    access, signer = ctx.sim.access, ctx.sim.signer
    username: str = params["username"]
    if "@" not in username and params.get("realm"):
        username = f"{username}@{params['realm']}"
    if not access.user_enabled(username):
        raise _auth_failure()
    password: str = params["password"]
    if challenge := params.get("tfa-challenge"):
        if not signer.verify_tfa_ticket(challenge, username):
            raise _auth_failure()
        kind, _, response = password.partition(":")
        if kind != "totp" or not access.check_totp(username, response):
            raise _auth_failure()
        return _login_result(ctx, username)
    renewed = signer.verify_ticket(password)
    # A valid ticket renews itself; root@pam's ticket may also mint tickets for other users.
    if renewed is not None and renewed.userid in (username, ROOT):
        authenticated = True
    else:
        authenticated = access.check_password(username, password)
    if not authenticated:
        raise _auth_failure()
    if params.get("path") and params.get("privs"):
        privs = split_list(params["privs"])
        if not access.model().has_privileges(username, params["path"], privs):
            raise permission_denied(
                f"Permission check failed ({params['path']}, {params['privs']})"
            )
        return {"username": username}
    if access.totp_secrets(username) and renewed is None:
        challenge_json = json.dumps({"totp": True}, separators=(",", ":"))
        return {
            "username": username,
            "ticket": signer.create_tfa_ticket(username, challenge_json),
            "CSRFPreventionToken": signer.create_csrf_token(username),
            "NeedTFA": 1,
        }
    return _login_result(ctx, username)


@endpoint("GET", "/version", permissions={"user": "all"})
async def version(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return {
        "version": pvesim.PVE_VERSION,
        "release": pvesim.PVE_RELEASE,
        "repoid": pvesim.PVE_REPOID,
        "console": "html5",
    }


@endpoint(
    "GET",
    "/access/permissions",
    params=(
        opt("path"),
        opt(
            "userid",
            pattern=r"(?^:^(?^:[^\s:/]+)\@(?^:[A-Za-z][A-Za-z0-9\.\-_]+)(?:!(?^:[A-Za-z][A-Za-z0-9\.\-_]+))?$)",
        ),
    ),
    permissions={"user": "all"},
)
async def permissions(ctx: RequestContext, params: dict[str, Any]) -> Any:
    target = params.get("userid") or ctx.principal
    own = target == ctx.principal or (ctx.tokenid is None and target.startswith(f"{ctx.userid}!"))
    if not own:
        ctx.require("/access", ["Sys.Audit"])
    model = ctx.sim.access.model()
    if path := params.get("path"):
        paths = [path]
    else:
        paths = list(model.permission_tree(target))
        if target == ROOT:
            paths = ["/"]
    return {path: dict.fromkeys(sorted(model.privileges_at(target, path)), 1) for path in paths}


@endpoint("GET", "/access/domains", permissions={"user": "world"})
async def list_domains(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return list(REALMS.values())


@endpoint(
    "GET",
    "/access/domains/{realm}",
    params=(Param("realm", max_length=32, format="pve-realm"),),
    permissions={"check": ["perm", "/access/realm", ["Realm.Allocate", "Sys.Audit"], "any", 1]},
)
async def get_domain(ctx: RequestContext, params: dict[str, Any]) -> Any:
    realm = REALMS.get(params["realm"])
    if realm is None:
        raise die(f"domain '{params['realm']}' does not exist")
    digest = hashlib.sha1(json.dumps(REALMS, sort_keys=True).encode(), usedforsecurity=False)
    return {key: value for key, value in realm.items() if key != "realm"} | {
        "digest": digest.hexdigest()
    }


# --- second factors (TOTP only) -------------------------------------------------------------
def _tfa_entries(ctx: RequestContext, userid: str) -> list[dict[str, Any]]:
    return [
        {key: entry[key] for key in ("id", "type", "description", "created", "enable")}
        for entry in ctx.sim.access.tfa.get(userid, [])
    ]


@endpoint("GET", "/access/tfa", permissions={"user": "all"}, protected=True)
async def list_all_tfa(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """Every user's factors the caller may audit (own ones always)."""
    items = []
    for userid in sorted(ctx.sim.access.tfa):
        own = userid == ctx.userid
        if not own and not ctx.has("/access/groups", ["User.Modify", "Sys.Audit"], any_=True):
            continue
        item: dict[str, Any] = {"userid": userid, "entries": _tfa_entries(ctx, userid)}
        if ctx.sim.access.totp_locked(userid):
            item["totp-locked"] = 1
        items.append(item)
    return items


@endpoint(
    "PUT",
    "/access/users/{userid}/unlock-tfa",
    params=(USERID,),
    permissions={"check": ["userid-group", ["User.Modify"]]},
    protected=True,
)
async def unlock_tfa(ctx: RequestContext, params: dict[str, Any]) -> Any:
    existing_user(ctx, params["userid"])
    return 1 if ctx.sim.access.unlock_tfa(params["userid"]) else 0


@endpoint(
    "GET",
    "/access/tfa/{userid}",
    params=(USERID,),
    permissions={
        "check": [
            "or",
            ["userid-param", "self"],
            ["userid-group", ["User.Modify", "Sys.Audit"]],
        ]
    },
    protected=True,
)
async def list_tfa(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return _tfa_entries(ctx, params["userid"])


@endpoint(
    "POST",
    "/access/tfa/{userid}",
    params=(
        opt("challenge"),
        opt("description", max_length=255),
        opt("password", max_length=64, min_length=5),
        opt("totp"),
        Param("type", enum=("totp", "u2f", "webauthn", "recovery", "yubico")),
        USERID,
        opt("value"),
    ),
    permissions=SELF_OR_USER_MODIFY,
    allowtoken=False,
    protected=True,
)
async def add_tfa(ctx: RequestContext, params: dict[str, Any]) -> Any:
    userid = params["userid"]
    existing_user(ctx, userid)
    if params["type"] != "totp":
        raise die(f"pvesim implements only 'totp' second factors, not '{params['type']}'")
    if not ctx.is_root and not ctx.sim.access.check_password(
        ctx.userid or "", params.get("password", "")
    ):
        raise PveError(401, "authentication failure")
    uri = urllib.parse.urlparse(params.get("totp", ""))
    secret = urllib.parse.parse_qs(uri.query).get("secret", [""])[0]
    if uri.scheme != "otpauth" or not re.fullmatch(r"[A-Z2-7]+=*", secret.upper()):
        raise param_error({"totp": "invalid TOTP url"})
    if not totp_matches(secret, params.get("value", "")):
        raise param_error({"value": "failed to verify TOTP challenge"})
    entry_id = f"totp{secrets.token_hex(4)}"
    ctx.sim.access.tfa.setdefault(userid, []).append(
        {
            "id": entry_id,
            "type": "totp",
            "description": params.get("description", ""),
            "created": int(time.time()),
            "enable": 1,
            "secret": secret.upper(),
        }
    )
    ctx.sim.access.save_secrets()
    return {"id": entry_id}


@endpoint(
    "DELETE",
    "/access/tfa/{userid}/{id}",
    params=(
        Param("id"),
        opt("password", max_length=64, min_length=5),
        USERID,
    ),
    permissions=SELF_OR_USER_MODIFY,
    allowtoken=False,
    protected=True,
)
async def delete_tfa(ctx: RequestContext, params: dict[str, Any]) -> Any:
    entries = ctx.sim.access.tfa.get(params["userid"], [])
    remaining = [entry for entry in entries if entry["id"] != params["id"]]
    if len(remaining) == len(entries):
        raise die(f"no such tfa entry '{params['id']}'")
    ctx.sim.access.tfa[params["userid"]] = remaining
    ctx.sim.access.save_secrets()
    return None
