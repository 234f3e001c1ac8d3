"""user.cfg parsing and rendering (FACTS.md 11.3, 11.5, 11.5a; AccessControl.pm
parse_user_config/write_user_config), including the token and pool cases of the official
test8.cfg/test6.cfg fixtures, and a render/parse round trip."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pvecore.acl import AclEntry, Pool, Token
from pvecore.privileges import BUILTIN_ROLES, PRIVILEGES
from pvecore.usercfg import Group, User, UserConfig, parse_user_cfg, render_user_cfg

SAMPLE = """\
user:root@pam:1:0:::root@example.com:::
user:max@pve:1:0:Max:M%C3%BCller:max@example.com:ops%3A on call::
token:max@pve!ci::0:
token:max@pve!deploy:1767225600:1:deploy%20bot:
user:ann@pve:0:1767225600::::
token:ghost@pve!orphan::1:

group:ops:max@pve ann@pve;nobody@pve:Operations:
group:bad name:max@pve:

pool:tenant:Tenant%20A:100,101;102:local local-lvm:
pool:other::101,103:bad/store:

role:customer:VM.Audit,VM.PowerMgmt,VM.Monitor:
role:Administrator:VM.Audit:

acl:1:/vms/100/:max@pve:customer:
acl:0:/pool/tenant:@ops,max@pve!ci,max@pve!deploy:PVEVMUser,undefined_role:
acl:1:/:root@pam:Administrator:
acl:1:/vms:max@pve!nope:PVEAuditor:
bogus:line:
"""


def test_parse_users_and_decoded_fields() -> None:
    cfg = parse_user_cfg(SAMPLE)
    assert set(cfg.users) == {"root@pam", "max@pve", "ann@pve"}
    max_user = cfg.users["max@pve"]
    assert (max_user.lastname, max_user.comment) == ("Müller", "ops: on call")
    assert max_user.email == "max@example.com"
    assert max_user.groups == {"ops"}
    assert cfg.users["ann@pve"] == User(enable=False, expire=1767225600, groups=frozenset({"ops"}))


def test_root_is_always_present() -> None:
    assert parse_user_cfg("").users == {"root@pam": User()}


def test_tokens_empty_privsep_field_means_off() -> None:
    cfg = parse_user_cfg(SAMPLE)
    assert cfg.tokens == {
        "max@pve!ci": Token("max@pve!ci", privsep=False),
        "max@pve!deploy": Token("max@pve!deploy", True, 1767225600, "deploy bot"),
    }  # the orphan token of a missing user is dropped


def test_groups_keep_undefined_members_and_split_lists() -> None:
    cfg = parse_user_cfg(SAMPLE)
    assert cfg.groups == {
        "ops": Group(frozenset({"max@pve", "ann@pve", "nobody@pve"}), "Operations")
    }


def test_pools_split_on_commas_semicolons_and_spaces() -> None:
    cfg = parse_user_cfg(SAMPLE)
    assert cfg.pools["tenant"] == Pool(
        "tenant", frozenset({100, 101, 102}), frozenset({"local", "local-lvm"}), "Tenant A"
    )
    # 101 already belongs to 'tenant'; 'bad/store' is no storage id.
    assert cfg.pools["other"] == Pool("other", frozenset({103}))


def test_roles_ignore_unknown_privileges_and_builtins() -> None:
    cfg = parse_user_cfg(SAMPLE)
    assert cfg.custom_roles == {"customer": frozenset({"VM.Audit", "VM.PowerMgmt"})}


def test_acl_entries() -> None:
    cfg = parse_user_cfg(SAMPLE)
    assert set(cfg.acl) == {
        AclEntry("/vms/100", "customer", user="max@pve"),
        AclEntry("/pool/tenant", "PVEVMUser", False, group="ops"),
        AclEntry("/pool/tenant", "PVEVMUser", False, token="max@pve!ci"),
        AclEntry("/pool/tenant", "PVEVMUser", False, token="max@pve!deploy"),
        AclEntry("/", "Administrator", user="root@pam"),
    }


def test_access_model_from_config() -> None:
    model = parse_user_cfg(SAMPLE).access_model()
    # max: customer from the ACL plus PVEVMUser from pool 'tenant' through group ops.
    max_on_100 = BUILTIN_ROLES["PVEVMUser"] | {"VM.Audit", "VM.PowerMgmt"}
    assert model.privileges_at("max@pve", "/vms/100") == max_on_100
    # ann gets PVEVMUser on pool members through group ops; the grant does not propagate.
    assert model.privileges_at("ann@pve", "/vms/102") == BUILTIN_ROLES["PVEVMUser"]
    assert model.privileges_at("ann@pve", "/vms/103") == frozenset()
    # ci has no privilege separation: it is max.
    assert model.privileges_at("max@pve!ci", "/vms/100") == max_on_100
    # deploy is privilege-separated: its own pool grant, intersected with max.
    assert model.privileges_at("max@pve!deploy", "/vms/100") == BUILTIN_ROLES["PVEVMUser"]


def test_render_matches_pve_layout() -> None:
    text = render_user_cfg(parse_user_cfg(SAMPLE))
    assert text == (
        "user:ann@pve:0:1767225600::::::\n"
        "user:max@pve:1:0:Max:M%C3%BCller:max@example.com:ops%3A on call::\n"
        "token:max@pve!ci:0:0::\n"
        "token:max@pve!deploy:1767225600:1:deploy bot:\n"
        "user:root@pam:1:0:::root@example.com:::\n"
        "\n"
        "group:ops:ann@pve,max@pve,nobody@pve:Operations:\n"
        "\n"
        "pool:other::103::\n"
        "pool:tenant:Tenant A:100,101,102:local,local-lvm:\n"
        "\n"
        "role:customer:VM.Audit,VM.PowerMgmt:\n"
        "\n"
        "acl:0:/pool/tenant:@ops,max@pve!ci,max@pve!deploy:PVEVMUser:\n"
        "acl:1:/vms/100:max@pve:customer:\n"
    )


def test_render_groups_acl_lines_by_propagation_and_role_list() -> None:
    cfg = UserConfig(
        acl=[
            AclEntry("/vms", "PVEVMUser", user="a@pve"),
            AclEntry("/vms", "PVEAuditor", user="a@pve"),
            AclEntry("/vms", "PVEAuditor", False, user="b@pve"),
            AclEntry("/", "PVEAuditor", group="g"),
            AclEntry("/vms/1000", "PVEAuditor", user="c@pve"),
        ]
    )
    acl_lines = [line for line in render_user_cfg(cfg).splitlines() if line.startswith("acl:")]
    assert acl_lines == [
        "acl:1:/:@g:PVEAuditor:",
        "acl:0:/vms:b@pve:PVEAuditor:",
        "acl:1:/vms:a@pve:PVEAuditor,PVEVMUser:",
        "acl:1:/vms/1000:c@pve:PVEAuditor:",
    ]


def test_pool_vmids_sort_as_strings_like_perl() -> None:
    cfg = UserConfig(pools={"p": Pool("p", frozenset({200, 1000, 30}))})
    assert "pool:p::1000,200,30::" in render_user_cfg(cfg)


# Round trip ------------------------------------------------------------------------------

_names = st.text("abcdefgh", min_size=1, max_size=6)
_userids = st.builds(lambda n, r: f"{n}@{r}", _names, st.sampled_from(["pve", "pam", "ad1"]))
# Free text as PVE can store it: no edge spaces (fields are trimmed), not the falsy "0".
_free_text = st.text(st.characters(codec="utf-8"), max_size=12).filter(
    lambda t: t == t.strip(" ") and t != "0"
)
_plain = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-", max_size=10).filter(lambda t: t != "0")
_paths = st.sampled_from(["/", "/vms", "/vms/100", "/storage/local", "/pool/p1", "/access/groups"])


@st.composite
def user_configs(draw: st.DrawFn) -> UserConfig:
    userids = draw(st.sets(_userids, max_size=5)) | {"root@pam"}
    users = {
        userid: User(
            enable=draw(st.booleans()),
            expire=draw(st.integers(0, 2**32)),
            firstname=draw(_free_text),
            lastname=draw(_free_text),
            email=draw(_plain),
            comment=draw(_free_text),
            keys=draw(_plain),
        )
        for userid in sorted(userids)
    }
    groups = {
        name: Group(frozenset(draw(st.sets(st.sampled_from(sorted(userids))))), draw(_free_text))
        for name in draw(st.sets(_names, max_size=3))
    }
    roles = {
        f"role{name}": frozenset(draw(st.sets(st.sampled_from(PRIVILEGES), max_size=4)))
        for name in draw(st.sets(_names, max_size=3))
    }
    tokens = {}
    for userid in sorted(userids):
        for name in draw(st.sets(st.sampled_from(["ci", "deploy", "t1"]), max_size=2)):
            tokenid = f"{userid}!{name}"
            tokens[tokenid] = Token(
                tokenid, draw(st.booleans()), draw(st.integers(0, 2**32)), draw(_free_text)
            )
    vm_pool = draw(st.dictionaries(st.integers(100, 10**6), st.sampled_from(["p1", "p2"])))
    pools = {
        name: Pool(
            name,
            frozenset(vmid for vmid, pool in vm_pool.items() if pool == name),
            frozenset(draw(st.sets(st.sampled_from(["local", "local-lvm", "nfs1"])))),
            draw(_free_text),
        )
        for name in draw(st.sets(st.sampled_from(["p1", "p2"])))
    }
    subjects = (
        [("user", u) for u in sorted(userids - {"root@pam"})]
        + [("group", g) for g in sorted(groups)]
        + [("token", t) for t in sorted(tokens)]
    )
    grants: dict[tuple[str, tuple[str, str], str], bool] = {}
    if subjects:
        role_names = [*sorted(roles), "PVEAuditor", "NoAccess", "Administrator"]
        for _ in range(draw(st.integers(0, 6))):
            key = (
                draw(_paths),
                draw(st.sampled_from(subjects)),
                draw(st.sampled_from(role_names)),
            )
            grants[key] = draw(st.booleans())
    acl = [
        AclEntry(path, role, propagate, **{kind: subject})
        for (path, (kind, subject), role), propagate in grants.items()
    ]
    return UserConfig(users, groups, roles, acl, pools, tokens)


@settings(max_examples=150, deadline=None)
@given(user_configs())
def test_render_parse_round_trip(cfg: UserConfig) -> None:
    parsed = parse_user_cfg(render_user_cfg(cfg))
    member_of = {
        userid: frozenset(name for name, group in cfg.groups.items() if userid in group.members)
        for userid in cfg.users
    }
    assert parsed.users == {u: replace(d, groups=member_of[u]) for u, d in cfg.users.items()}
    assert parsed.groups == cfg.groups
    assert parsed.custom_roles == cfg.custom_roles
    assert parsed.pools == cfg.pools
    assert parsed.tokens == cfg.tokens
    assert set(parsed.acl) == set(cfg.acl)
    assert render_user_cfg(parsed) == render_user_cfg(cfg)
