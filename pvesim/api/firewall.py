"""Firewall configuration: cluster and guest options, rules, security groups, IP sets, aliases.

Only the configuration is simulated (no packets are filtered). Each scope is kept like PVE's
``cluster.fw`` / ``<vmid>.fw`` files, as ``firewall/cluster.json`` and ``firewall/<vmid>.json``
in the data directory; ``digest`` protects against concurrent changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pvecore.text import split_list
from pvesim.context import RequestContext
from pvesim.errors import die
from pvesim.params import NODE, VMID, Param, opt
from pvesim.routes import endpoint
from pvesim.store import read_json, write_json

LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog")
NAME_PATTERN = r"[A-Za-z][A-Za-z0-9\-\_]+"
RULE_FIELDS = (
    opt("comment"),
    opt("dest", max_length=512, format="pve-fw-addr-spec"),
    opt("digest", max_length=64),
    opt("dport", format="pve-fw-dport-spec"),
    opt("enable", "integer", minimum=0),
    opt("icmp-type", format="pve-fw-icmp-type-spec"),
    opt("iface", max_length=20, min_length=2, format="pve-iface"),
    opt("log", enum=LOG_LEVELS),
    opt("macro", max_length=128),
    opt("pos", "integer", minimum=0),
    opt("proto", format="pve-fw-protocol-spec"),
    opt("source", max_length=512, format="pve-fw-addr-spec"),
    opt("sport", format="pve-fw-sport-spec"),
)
RULE_KEYS = {p.name for p in RULE_FIELDS} - {"digest", "pos"} | {"type", "action"}
RULE_TYPES = ("in", "out", "forward", "group")
ACTION = Param("action", pattern=NAME_PATTERN, max_length=20, min_length=2)
CLUSTER_AUDIT = {"check": ["perm", "/", ["Sys.Audit"]]}
CLUSTER_MODIFY = {"check": ["perm", "/", ["Sys.Modify"]]}
VM_AUDIT = {"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]}
VM_NETWORK = {"check": ["perm", "/vms/{vmid}", ["VM.Config.Network"]]}


class Ruleset:
    """One firewall file: options, rules and (cluster only) security groups."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = read_json(path, {})
        self.options: dict[str, Any] = data.get("options", {})
        self.rules: list[dict[str, Any]] = data.get("rules", [])
        self.groups: dict[str, dict[str, Any]] = data.get("groups", {})

    def _data(self) -> dict[str, Any]:
        return {"options": self.options, "rules": self.rules, "groups": self.groups}

    @property
    def digest(self) -> str:
        text = json.dumps(self._data(), sort_keys=True).encode()
        return hashlib.sha1(text, usedforsecurity=False).hexdigest()

    def check_digest(self, digest: str | None) -> None:
        if digest and digest != self.digest:
            raise die("detected modified configuration - file changed by other user? Try again.")

    def save(self) -> None:
        write_json(self.path, self._data())

    def rule_items(self) -> list[dict[str, Any]]:
        return [{**rule, "pos": index} for index, rule in enumerate(self.rules)]

    def rule_at(self, pos: int | None) -> dict[str, Any]:
        if pos is None or not 0 <= pos < len(self.rules):
            raise die(f"no rule at position {pos}")
        return self.rules[pos]


def _cluster(ctx: RequestContext) -> Ruleset:
    return Ruleset(ctx.sim.settings.data_dir / "firewall" / "cluster.json")


def _guest(ctx: RequestContext, params: dict[str, Any], kind: str) -> Ruleset:
    guest = ctx.sim.state.guest(params["node"], kind, params["vmid"])
    return Ruleset(ctx.sim.settings.data_dir / "firewall" / f"{guest.vmid}.json")


def _new_rule(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key in RULE_KEYS}


def _update_options(ruleset: Ruleset, params: dict[str, Any], names: set[str]) -> None:
    ruleset.check_digest(params.get("digest"))
    for key in split_list(params.get("delete", "")):
        ruleset.options.pop(key, None)
    for key, value in params.items():
        if key in names:
            ruleset.options[key] = int(value) if isinstance(value, bool) else value
    ruleset.save()


def _add_rule(ruleset: Ruleset, params: dict[str, Any]) -> None:
    ruleset.check_digest(params.get("digest"))
    pos = min(params.get("pos", 0), len(ruleset.rules))
    ruleset.rules.insert(pos, _new_rule(params))
    ruleset.save()


def _update_rule(ruleset: Ruleset, params: dict[str, Any]) -> None:
    ruleset.check_digest(params.get("digest"))
    rule = ruleset.rule_at(params.get("pos"))
    for key in split_list(params.get("delete", "")):
        rule.pop(key, None)
    rule.update(_new_rule(params))
    if "moveto" in params:
        ruleset.rules.remove(rule)
        ruleset.rules.insert(min(params["moveto"], len(ruleset.rules)), rule)
    ruleset.save()


def _delete_rule(ruleset: Ruleset, params: dict[str, Any]) -> None:
    ruleset.check_digest(params.get("digest"))
    ruleset.rules.remove(ruleset.rule_at(params.get("pos")))
    ruleset.save()


# --- cluster --------------------------------------------------------------------------------
CLUSTER_OPTIONS = (
    opt("ebtables", "boolean", default=1),
    opt("enable", "integer", minimum=0, default=0),
    opt("log_ratelimit"),
    opt("policy_forward", enum=("ACCEPT", "DROP")),
    opt("policy_in", enum=("ACCEPT", "REJECT", "DROP")),
    opt("policy_out", enum=("ACCEPT", "REJECT", "DROP")),
)


@endpoint("GET", "/cluster/firewall/options", permissions=CLUSTER_AUDIT)
async def cluster_options(ctx: RequestContext, params: dict[str, Any]) -> Any:
    ruleset = _cluster(ctx)
    return {**ruleset.options, "digest": ruleset.digest}


@endpoint(
    "PUT",
    "/cluster/firewall/options",
    params=(
        opt("delete", format="pve-configid-list"),
        opt("digest", max_length=64),
        *CLUSTER_OPTIONS,
    ),
    permissions=CLUSTER_MODIFY,
    protected=True,
)
async def set_cluster_options(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _update_options(_cluster(ctx), params, {p.name for p in CLUSTER_OPTIONS})
    return None


@endpoint("GET", "/cluster/firewall/rules", permissions=CLUSTER_AUDIT)
async def cluster_rules(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return _cluster(ctx).rule_items()


@endpoint(
    "POST",
    "/cluster/firewall/rules",
    params=(ACTION, *RULE_FIELDS, Param("type", enum=RULE_TYPES)),
    permissions=CLUSTER_MODIFY,
    protected=True,
)
async def add_cluster_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _add_rule(_cluster(ctx), params)
    return None


POS = opt("pos", "integer", minimum=0)


@endpoint("GET", "/cluster/firewall/rules/{pos}", params=(POS,), permissions=CLUSTER_AUDIT)
async def cluster_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
    ruleset = _cluster(ctx)
    return {**ruleset.rule_at(params.get("pos")), "pos": params.get("pos")}


UPDATE_RULE_FIELDS = (
    opt("action", pattern=NAME_PATTERN, max_length=20, min_length=2),
    *RULE_FIELDS,
    opt("delete", format="pve-configid-list"),
    opt("moveto", "integer", minimum=0),
    opt("type", enum=RULE_TYPES),
)


@endpoint(
    "PUT",
    "/cluster/firewall/rules/{pos}",
    params=UPDATE_RULE_FIELDS,
    permissions=CLUSTER_MODIFY,
    protected=True,
)
async def update_cluster_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _update_rule(_cluster(ctx), params)
    return None


@endpoint(
    "DELETE",
    "/cluster/firewall/rules/{pos}",
    params=(opt("digest", max_length=64), POS),
    permissions=CLUSTER_MODIFY,
    protected=True,
)
async def delete_cluster_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _delete_rule(_cluster(ctx), params)
    return None


@endpoint("GET", "/cluster/firewall/groups", permissions={"user": "all"})
async def security_groups(ctx: RequestContext, params: dict[str, Any]) -> Any:
    ruleset = _cluster(ctx)
    return [
        {
            "group": name,
            "digest": ruleset.digest,
            **({"comment": g["comment"]} if g.get("comment") else {}),
        }
        for name, g in sorted(ruleset.groups.items())
    ]


@endpoint(
    "POST",
    "/cluster/firewall/groups",
    params=(
        opt("comment"),
        opt("digest", max_length=64),
        Param("group", pattern=NAME_PATTERN, max_length=18, min_length=2),
        opt("rename", pattern=NAME_PATTERN, max_length=18, min_length=2),
    ),
    permissions=CLUSTER_MODIFY,
    protected=True,
)
async def create_security_group(ctx: RequestContext, params: dict[str, Any]) -> Any:
    ruleset = _cluster(ctx)
    ruleset.check_digest(params.get("digest"))
    name = params["group"]
    if old := params.get("rename"):
        if old not in ruleset.groups:
            raise die(f"Security group '{old}' does not exist")
        ruleset.groups[name] = ruleset.groups.pop(old)
    elif name in ruleset.groups:
        raise die(f"Security group '{name}' already exists")
    else:
        ruleset.groups[name] = {"rules": []}
    if "comment" in params:
        ruleset.groups[name]["comment"] = params["comment"]
    ruleset.save()
    return None


@endpoint("GET", "/cluster/firewall/ipset", permissions=CLUSTER_AUDIT)
async def cluster_ipsets(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return []


@endpoint("GET", "/cluster/firewall/aliases", permissions=CLUSTER_AUDIT)
async def cluster_aliases(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return []


# --- guests (qemu and lxc) ------------------------------------------------------------------
VM_OPTIONS = (
    opt("dhcp", "boolean", default=0),
    opt("enable", "boolean", default=0),
    opt("ipfilter", "boolean"),
    opt("log_level_in", enum=LOG_LEVELS),
    opt("log_level_out", enum=LOG_LEVELS),
    opt("macfilter", "boolean", default=1),
    opt("ndp", "boolean", default=1),
    opt("policy_in", enum=("ACCEPT", "REJECT", "DROP")),
    opt("policy_out", enum=("ACCEPT", "REJECT", "DROP")),
    opt("radv", "boolean"),
)


def _register_guest_firewall(kind: str) -> None:
    base = f"/nodes/{{node}}/{kind}/{{vmid}}/firewall"

    @endpoint(
        "GET",
        f"{base}/options",
        params=(NODE, VMID),
        permissions=VM_AUDIT,
        proxyto="node",
    )
    async def vm_options(ctx: RequestContext, params: dict[str, Any]) -> Any:
        ruleset = _guest(ctx, params, kind)
        return {**ruleset.options, "digest": ruleset.digest}

    @endpoint(
        "PUT",
        f"{base}/options",
        params=(
            opt("delete", format="pve-configid-list"),
            opt("digest", max_length=64),
            *VM_OPTIONS,
            NODE,
            VMID,
        ),
        permissions=VM_NETWORK,
        protected=True,
        proxyto="node",
    )
    async def set_vm_options(ctx: RequestContext, params: dict[str, Any]) -> Any:
        _update_options(_guest(ctx, params, kind), params, {p.name for p in VM_OPTIONS})
        return None

    @endpoint("GET", f"{base}/rules", params=(NODE, VMID), permissions=VM_AUDIT)
    async def vm_rules(ctx: RequestContext, params: dict[str, Any]) -> Any:
        return _guest(ctx, params, kind).rule_items()

    @endpoint(
        "POST",
        f"{base}/rules",
        params=(ACTION, *RULE_FIELDS, NODE, Param("type", enum=RULE_TYPES), VMID),
        permissions=VM_NETWORK,
        protected=True,
    )
    async def add_vm_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
        _add_rule(_guest(ctx, params, kind), params)
        return None

    @endpoint("GET", f"{base}/rules/{{pos}}", params=(NODE, POS, VMID), permissions=VM_AUDIT)
    async def vm_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
        ruleset = _guest(ctx, params, kind)
        return {**ruleset.rule_at(params.get("pos")), "pos": params.get("pos")}

    @endpoint(
        "PUT",
        f"{base}/rules/{{pos}}",
        params=(*UPDATE_RULE_FIELDS, NODE, VMID),
        permissions=VM_NETWORK,
        protected=True,
    )
    async def update_vm_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
        _update_rule(_guest(ctx, params, kind), params)
        return None

    @endpoint(
        "DELETE",
        f"{base}/rules/{{pos}}",
        params=(opt("digest", max_length=64), NODE, POS, VMID),
        permissions=VM_NETWORK,
        protected=True,
    )
    async def delete_vm_rule(ctx: RequestContext, params: dict[str, Any]) -> Any:
        _delete_rule(_guest(ctx, params, kind), params)
        return None

    @endpoint("GET", f"{base}/ipset", params=(NODE, VMID), permissions=VM_AUDIT)
    async def vm_ipsets(ctx: RequestContext, params: dict[str, Any]) -> Any:
        _guest(ctx, params, kind)
        return []

    @endpoint("GET", f"{base}/aliases", params=(NODE, VMID), permissions=VM_AUDIT)
    async def vm_aliases(ctx: RequestContext, params: dict[str, Any]) -> Any:
        _guest(ctx, params, kind)
        return []


for _kind in ("qemu", "lxc"):
    _register_guest_firewall(_kind)
