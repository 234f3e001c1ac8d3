"""`manage.py pveum ...`: PVE's user manager for operators, with PVE's sub-commands and options.

Parsing and printing only: every change goes through `apps.access.services` (or identity's),
every read through the selectors. `--actor USERID` names the operator in the audit log (default:
the system actor `pveum`). `evaluate` reads a user.cfg file only and never opens the database.
"""

import json
import sys
from argparse import ArgumentTypeError
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.access import selectors, services, usercfg_io
from apps.audit.services import Actor
from apps.identity.realms.directory import DirectoryError
from apps.identity.realms.options import OPTIONS_BY_TYPE
from apps.identity.services.sync import realm_sync
from apps.identity.services.totp import totp_unlock
from apps.identity.services.users import realm_create, realm_delete, realm_modify
from pvecore.text import split_list

Options = dict[str, Any]
REALM_OPTIONS = sorted({name for options in OPTIONS_BY_TYPE.values() for name in options})


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ArgumentTypeError(f"value '{text}' does not look like a valid boolean (0 or 1)")
    return text == "1"


def _expire(text: str) -> datetime | None:
    """PVE's epoch expiry; 0 means never."""
    if not text.isdigit():
        raise ArgumentTypeError(f"type check ('integer') failed - got '{text}'")
    return datetime.fromtimestamp(int(text), tz=UTC) if int(text) else None


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in error.message_dict.items()
            for message in messages
        )
    return "; ".join(error.messages)


class Command(BaseCommand):
    help = "Manage users, groups, roles, ACL entries, pools, API tokens and realms like pveum."
    requires_system_checks: list[str] = []
    stealth_options = ("stdin",)

    # Arguments ----------------------------------------------------------------------------------

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--actor", help="Operator user id recorded in the audit log.")
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

        command = commands.add_parser("import-usercfg", help="Merge a PVE user.cfg.")
        command.add_argument("file")
        command.set_defaults(handler=Command.import_usercfg)
        command = commands.add_parser("export-usercfg", help="Print the database as user.cfg.")
        command.add_argument("--output", help="Write to this file instead.")
        command.set_defaults(handler=Command.export_usercfg)
        command = commands.add_parser(
            "evaluate", help="Roles and privileges from a user.cfg alone, for JSON lines on stdin."
        )
        command.add_argument("--usercfg", required=True)
        command.set_defaults(handler=Command.evaluate)
        self._add_permissions(commands.add_parser("permissions", help="Effective privileges."))

        self._add_users(commands.add_parser("user", help="Users and their tokens and TFA."))
        self._add_tokens(commands.add_parser("token", help="API tokens."))
        self._add_groups(commands.add_parser("group", help="Groups."))
        self._add_roles(commands.add_parser("role", help="Roles."))
        self._add_acl(commands.add_parser("acl", help="ACL entries."))
        self._add_pools(commands.add_parser("pool", help="Resource pools."))
        self._add_realms(commands.add_parser("realm", help="Authentication realms."))

    @staticmethod
    def _subcommands(parser: CommandParser) -> Any:
        return parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

    @staticmethod
    def _listing(parser: CommandParser, handler: Callable) -> None:
        parser.add_argument("--output-format", choices=["text", "json"], default="text")
        parser.set_defaults(handler=handler)

    def _add_permissions(self, parser: CommandParser) -> None:
        parser.add_argument("subject", help="A user id or a token id.")
        parser.add_argument("--path", help="Only this path (default: every relevant path).")
        self._listing(parser, Command.permissions)

    def _add_users(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        self._listing(sub.add_parser("list"), Command.user_list)
        add = sub.add_parser("add")
        add.add_argument("userid")
        add.add_argument("--password", help="Only for the pve realm.")
        add.add_argument("--email", default="")
        add.add_argument("--firstname", default="")
        add.add_argument("--lastname", default="")
        add.add_argument("--comment", default="")
        add.add_argument("--enable", type=_flag, default=True)
        add.add_argument("--expire", type=_expire, default=None)
        add.add_argument("--groups", default="")
        add.set_defaults(handler=Command.user_add)
        delete = sub.add_parser("delete")
        delete.add_argument("userid")
        delete.set_defaults(handler=Command.user_delete)
        self._add_permissions(sub.add_parser("permissions"))
        tfa = sub.add_parser("tfa").add_subparsers(dest="tfa", required=True, metavar="ACTION")
        unlock = tfa.add_parser("unlock")
        unlock.add_argument("userid")
        unlock.set_defaults(handler=Command.user_tfa_unlock)
        self._add_tokens(sub.add_parser("token"))

    def _add_tokens(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        listing = sub.add_parser("list")
        listing.add_argument("userid", nargs="?")
        self._listing(listing, Command.token_list)
        add = sub.add_parser("add")
        add.add_argument("userid")
        add.add_argument("name")
        add.add_argument("--privsep", type=_flag, default=True)
        add.add_argument("--expire", type=_expire, help="Epoch; default: the user's expiry.")
        add.add_argument("--comment", default="")
        add.set_defaults(handler=Command.token_add)
        remove = sub.add_parser("remove", aliases=["delete"])
        remove.add_argument("userid")
        remove.add_argument("name")
        remove.set_defaults(handler=Command.token_remove)

    def _add_groups(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        self._listing(sub.add_parser("list"), Command.group_list)
        for name, handler in (("add", Command.group_add), ("modify", Command.group_modify)):
            command = sub.add_parser(name)
            command.add_argument("groupid")
            command.add_argument("--comment")
            command.add_argument("--users", help="Members, replacing the current ones.")
            command.set_defaults(handler=handler)
        delete = sub.add_parser("delete")
        delete.add_argument("groupid")
        delete.set_defaults(handler=Command.group_delete)

    def _add_roles(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        self._listing(sub.add_parser("list"), Command.role_list)
        add = sub.add_parser("add")
        add.add_argument("roleid")
        add.add_argument("--privs", default="")
        add.set_defaults(handler=Command.role_add)
        modify = sub.add_parser("modify")
        modify.add_argument("roleid")
        modify.add_argument("--privs", required=True)
        modify.add_argument("--append", type=_flag, default=False)
        modify.set_defaults(handler=Command.role_modify)
        delete = sub.add_parser("delete")
        delete.add_argument("roleid")
        delete.set_defaults(handler=Command.role_delete)

    def _add_acl(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        self._listing(sub.add_parser("list"), Command.acl_list)
        for name, handler in (("modify", Command.acl_modify), ("delete", Command.acl_delete)):
            command = sub.add_parser(name)
            command.add_argument("path")
            command.add_argument("--roles", required=True)
            command.add_argument("--users", default="")
            command.add_argument("--groups", default="")
            command.add_argument("--tokens", default="")
            if name == "modify":
                command.add_argument("--propagate", type=_flag, default=True)
            command.set_defaults(handler=handler)

    def _add_pools(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        self._listing(sub.add_parser("list"), Command.pool_list)
        for name, handler in (("add", Command.pool_add), ("modify", Command.pool_modify)):
            command = sub.add_parser(name)
            command.add_argument("poolid")
            command.add_argument("--comment")
            command.add_argument("--vms", default="")
            command.add_argument("--storage", default="")
            if name == "modify":
                command.add_argument("--delete", type=_flag, default=False)
                command.add_argument("--allow-move", type=_flag, default=False)
            command.set_defaults(handler=handler)
        delete = sub.add_parser("delete")
        delete.add_argument("poolid")
        delete.set_defaults(handler=Command.pool_delete)

    def _add_realms(self, parser: CommandParser) -> None:
        sub = self._subcommands(parser)
        self._listing(sub.add_parser("list"), Command.realm_list)
        add = sub.add_parser("add")
        add.add_argument("realm")
        add.add_argument("--type", required=True)
        add.add_argument("--comment", default="")
        add.add_argument("--default", type=_flag, default=False)
        add.add_argument("--tfa", default="", help="Realm-enforced TFA, e.g. type=oath.")
        add.add_argument("--password", default="", help="The bind password (ldap, ad).")
        for option in REALM_OPTIONS:
            add.add_argument(f"--{option}", dest=f"realm_option:{option}")
        add.set_defaults(handler=Command.realm_add)
        modify = sub.add_parser("modify")
        modify.add_argument("realm")
        modify.add_argument("--comment")
        modify.add_argument("--default", type=_flag)
        modify.add_argument("--tfa", help="Realm-enforced TFA: type=oath, or empty to turn off.")
        modify.add_argument("--password", help="The bind password (ldap, ad).")
        modify.add_argument("--delete", default="", help="Options to remove, e.g. server2,filter.")
        for option in REALM_OPTIONS:
            modify.add_argument(f"--{option}", dest=f"realm_option:{option}")
        modify.set_defaults(handler=Command.realm_modify)
        delete = sub.add_parser("delete")
        delete.add_argument("realm")
        delete.set_defaults(handler=Command.realm_delete)
        sync = sub.add_parser("sync")
        sync.add_argument("realm")
        sync.add_argument("--scope", choices=["users", "groups", "both"], default="both")
        sync.add_argument("--remove-vanished", default="", help="acl;entry;properties")
        sync.add_argument("--enable-new", type=_flag, default=True)
        sync.add_argument("--dry-run", type=_flag, nargs="?", const=True, default=False)
        sync.set_defaults(handler=Command.realm_sync)

    # Running ------------------------------------------------------------------------------------

    def handle(self, *args: str, **options: Any) -> None:
        try:
            options["handler"](self, options)
        except ValidationError as error:
            raise CommandError(_messages(error)) from None
        except (ValueError, OSError, DirectoryError) as error:
            raise CommandError(str(error)) from None

    def _actor(self, options: Options) -> Actor:
        if options.get("actor"):
            return Actor.user(selectors.user_by_id(options["actor"]))
        return Actor.system("pveum")

    def _json(self, value: object) -> None:
        self.stdout.write(json.dumps(value, indent=2, sort_keys=True))

    def _rows(self, options: Options, rows: list[dict[str, object]]) -> None:
        if options["output_format"] == "json":
            self._json(rows)
            return
        if not rows:
            return
        columns = list(rows[0])
        texts = [[str(row[column]) for column in columns] for row in rows]
        widths = [max(len(c), *(len(t[i]) for t in texts)) for i, c in enumerate(columns)]
        self.stdout.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for text in texts:
            self.stdout.write("  ".join(t.ljust(w) for t, w in zip(text, widths, strict=True)))

    # user.cfg -----------------------------------------------------------------------------------

    def import_usercfg(self, options: Options) -> None:
        text = Path(options["file"]).read_text(encoding="utf-8")
        report = usercfg_io.import_usercfg(text=text, actor=self._actor(options))
        self._json(report.as_dict())

    def export_usercfg(self, options: Options) -> None:
        text = usercfg_io.export_usercfg()
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")

    def evaluate(self, options: Options) -> None:
        text = Path(options["usercfg"]).read_text(encoding="utf-8")
        requests: Iterable[str] = options.get("stdin") or sys.stdin
        for answer in usercfg_io.evaluate_requests(usercfg_text=text, requests=requests):
            self.stdout.write(json.dumps(answer, sort_keys=False))

    def permissions(self, options: Options) -> None:
        tree = selectors.subject_permissions(subject=options["subject"], path=options["path"])
        rows = [{"path": path, "privileges": ",".join(sorted(held))} for path, held in tree.items()]
        self._rows(options, rows)

    # users --------------------------------------------------------------------------------------

    def user_list(self, options: Options) -> None:
        rows = [
            {
                "userid": user.username,
                "enable": int(user.is_active),
                "expire": _epoch(user.expire),
                "firstname": user.first_name,
                "lastname": user.last_name,
                "email": user.email,
                "operator": int(user.is_superuser),
            }
            for user in selectors.user_list()
        ]
        self._rows(options, rows)

    def user_add(self, options: Options) -> None:
        services.account_add(
            userid=options["userid"],
            password=options["password"],
            email=options["email"],
            firstname=options["firstname"],
            lastname=options["lastname"],
            enabled=options["enable"],
            expire=options["expire"],
            comment=options["comment"],
            groups=[selectors.group_by_name(name) for name in split_list(options["groups"])],
            actor=self._actor(options),
        )

    def user_delete(self, options: Options) -> None:
        services.account_delete(
            user=selectors.user_by_id(options["userid"]), actor=self._actor(options)
        )

    def user_tfa_unlock(self, options: Options) -> None:
        totp_unlock(user=selectors.user_by_id(options["userid"]), actor=self._actor(options))

    # tokens -------------------------------------------------------------------------------------

    def token_list(self, options: Options) -> None:
        user = selectors.user_by_id(options["userid"]) if options["userid"] else None
        rows = [
            {
                "full-tokenid": token.tokenid,
                "privsep": int(token.privsep),
                "expire": _epoch(token.expire),
                "comment": token.comment,
                "last-used": token.last_used_at.isoformat() if token.last_used_at else "",
            }
            for token in selectors.token_list(user=user)
        ]
        self._rows(options, rows)

    def token_add(self, options: Options) -> None:
        expire = options["expire"] if options["expire"] is not None else services.USER_EXPIRY
        token, secret = services.token_create(
            user=selectors.user_by_id(options["userid"]),
            name=options["name"],
            privsep=options["privsep"],
            expire=expire,
            comment=options["comment"],
            actor=self._actor(options),
        )
        # The shape of PVE's answer; the secret is printed this once and never again.
        self._json(
            {
                "full-tokenid": token.tokenid,
                "info": {
                    "privsep": int(token.privsep),
                    "expire": _epoch(token.expire),
                    "comment": token.comment,
                },
                "value": secret,
            }
        )

    def token_remove(self, options: Options) -> None:
        token = selectors.token_by_id(f"{options['userid']}!{options['name']}")
        services.token_delete(token=token, actor=self._actor(options))

    # groups -------------------------------------------------------------------------------------

    def group_list(self, options: Options) -> None:
        rows = [
            {
                "groupid": group.name,
                "users": ",".join(member.username for member in group.members.all()),
                "comment": group.comment,
            }
            for group in selectors.group_list()
        ]
        self._rows(options, rows)

    def _members(self, options: Options) -> list | None:
        if options["users"] is None:
            return None
        return [selectors.user_by_id(userid) for userid in split_list(options["users"])]

    def group_add(self, options: Options) -> None:
        services.group_create(
            name=options["groupid"],
            comment=options["comment"] or "",
            members=self._members(options) or [],
            actor=self._actor(options),
        )

    def group_modify(self, options: Options) -> None:
        services.group_modify(
            group=selectors.group_by_name(options["groupid"]),
            comment=options["comment"],
            members=self._members(options),
            actor=self._actor(options),
        )

    def group_delete(self, options: Options) -> None:
        services.group_delete(
            group=selectors.group_by_name(options["groupid"]), actor=self._actor(options)
        )

    # roles --------------------------------------------------------------------------------------

    def role_list(self, options: Options) -> None:
        rows = [
            {"roleid": role.name, "privs": ",".join(role.privileges), "special": int(role.builtin)}
            for role in selectors.role_list()
        ]
        self._rows(options, rows)

    def role_add(self, options: Options) -> None:
        services.role_create(
            name=options["roleid"],
            privileges=split_list(options["privs"]),
            actor=self._actor(options),
        )

    def role_modify(self, options: Options) -> None:
        services.role_modify(
            name=options["roleid"],
            privileges=split_list(options["privs"]),
            append=options["append"],
            actor=self._actor(options),
        )

    def role_delete(self, options: Options) -> None:
        services.role_delete(name=options["roleid"], actor=self._actor(options))

    # ACL ----------------------------------------------------------------------------------------

    def acl_list(self, options: Options) -> None:
        rows = [
            {
                "path": entry.path,
                "type": "group" if entry.group_id else "token" if entry.token_id else "user",
                "ugid": entry.subject.removeprefix("@"),
                "roleid": entry.role,
                "propagate": int(entry.propagate),
            }
            for entry in selectors.acl_list()
        ]
        self._rows(options, rows)

    def _acl_subjects(self, options: Options) -> dict[str, list[str]]:
        return {
            "roles": split_list(options["roles"]),
            "users": split_list(options["users"]),
            "groups": split_list(options["groups"]),
            "tokens": split_list(options["tokens"]),
        }

    def acl_modify(self, options: Options) -> None:
        services.acl_modify(
            path=options["path"],
            propagate=options["propagate"],
            actor=self._actor(options),
            **self._acl_subjects(options),
        )

    def acl_delete(self, options: Options) -> None:
        services.acl_delete(
            path=options["path"], actor=self._actor(options), **self._acl_subjects(options)
        )

    # pools --------------------------------------------------------------------------------------

    def pool_list(self, options: Options) -> None:
        rows = [
            {
                "poolid": pool.name,
                "vms": ",".join(str(guest.vmid) for guest in pool.guests.all()),
                "storage": ",".join(storage.storage for storage in pool.storages.all()),
                "comment": pool.comment,
            }
            for pool in selectors.pool_list()
        ]
        self._rows(options, rows)

    @staticmethod
    def _vmids(options: Options) -> list[int]:
        vmids = split_list(options["vms"])
        for vmid in vmids:
            if not vmid.isdigit():
                raise CommandError(f"vms: invalid VMID '{vmid}'")
        return [int(vmid) for vmid in vmids]

    def pool_add(self, options: Options) -> None:
        services.pool_create(
            name=options["poolid"],
            comment=options["comment"] or "",
            vmids=self._vmids(options),
            storages=split_list(options["storage"]),
            actor=self._actor(options),
        )

    def pool_modify(self, options: Options) -> None:
        services.pool_modify(
            pool=selectors.pool_by_name(options["poolid"]),
            comment=options["comment"],
            vmids=self._vmids(options),
            storages=split_list(options["storage"]),
            delete=options["delete"],
            allow_move=options["allow_move"],
            actor=self._actor(options),
        )

    def pool_delete(self, options: Options) -> None:
        services.pool_delete(
            pool=selectors.pool_by_name(options["poolid"]), actor=self._actor(options)
        )

    # realms -------------------------------------------------------------------------------------

    def realm_list(self, options: Options) -> None:
        rows = [
            {
                "realm": realm.name,
                "type": realm.type,
                "enabled": int(realm.enabled),
                "default": int(realm.default),
                "tfa": "oath" if realm.tfa_required else "",
                "comment": realm.comment,
            }
            for realm in selectors.realm_list()
        ]
        self._rows(options, rows)

    def realm_add(self, options: Options) -> None:
        realm_create(
            name=options["realm"],
            type=options["type"],
            options=_realm_options(options),
            bind_password=options["password"],
            comment=options["comment"],
            default=options["default"],
            tfa_required=bool(options["tfa"]),
            actor=self._actor(options),
        )

    def realm_modify(self, options: Options) -> None:
        realm_modify(
            realm=selectors.realm_by_name(options["realm"]),
            options=_realm_options(options),
            delete=frozenset(split_list(options["delete"])),
            bind_password=options["password"],
            comment=options["comment"],
            default=options["default"],
            tfa_required=None if options["tfa"] is None else bool(options["tfa"]),
            actor=self._actor(options),
        )

    def realm_delete(self, options: Options) -> None:
        realm_delete(realm=selectors.realm_by_name(options["realm"]), actor=self._actor(options))

    def realm_sync(self, options: Options) -> None:
        report = realm_sync(
            realm=selectors.realm_by_name(options["realm"]),
            scope=options["scope"],
            enable_new=options["enable_new"],
            remove_vanished=frozenset(split_list(options["remove_vanished"])),
            dry_run=options["dry_run"],
            actor=self._actor(options),
        )
        self._json(report.as_dict())


def _realm_options(options: Options) -> dict[str, object]:
    """The PVE realm options given on the command line (`--server1`, `--base_dn`, ...)."""
    return {
        key.split(":", 1)[1]: value
        for key, value in options.items()
        if key.startswith("realm_option:") and value is not None
    }
