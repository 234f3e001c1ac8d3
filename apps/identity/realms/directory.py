"""LDAP and Active Directory realms through ldap3: servers with fallback, TLS modes, lookups."""

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import ldap3
from ldap3.core.exceptions import LDAPBindError, LDAPException
from ldap3.utils.conv import escape_filter_chars

from apps.identity.models import Realm
from apps.identity.realms.options import option_value

CONNECT_TIMEOUT_SECONDS = 5
RECEIVE_TIMEOUT_SECONDS = 10
# PVE's sync maps these directory attributes onto user properties by default.
DEFAULT_SYNC_ATTRIBUTES = {"email": "mail", "firstname": "givenName", "lastname": "sn"}


class DirectoryError(Exception):
    """The directory could not be reached or refused the service account."""


@dataclass(frozen=True)
class DirectoryUser:
    name: str
    dn: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DirectoryGroup:
    name: str
    member_dns: frozenset[str]


class Directory:
    """One realm's directory: the only place that speaks LDAP."""

    def __init__(self, realm: Realm) -> None:
        if realm.type not in (Realm.Type.LDAP, Realm.Type.AD):
            raise ValueError(f"realm {realm.name} is not a directory realm")
        self.realm = realm

    def _option(self, name: str) -> object:
        return option_value(self.realm.type, self.realm.options, name)

    @property
    def is_ad(self) -> bool:
        return self.realm.type == Realm.Type.AD

    def _server_pool(self) -> ldap3.ServerPool:
        mode = self._option("mode")
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED if self._option("verify") else ssl.CERT_NONE,
            ca_certs_file=self._option("capath") or None,
        )
        port = self._option("port") or (636 if mode == "ldaps" else 389)
        servers = [
            ldap3.Server(
                host,
                port=port,
                use_ssl=mode == "ldaps",
                tls=tls,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                get_info=ldap3.NONE,
            )
            for host in (self._option("server1"), self._option("server2"))
            if host
        ]
        # FIRST with active=1: try server1, fall back to server2, one round.
        return ldap3.ServerPool(servers, ldap3.FIRST, active=1, exhaust=True)

    @contextmanager
    def _bound(self, *, user: str | None, password: str | None) -> Iterator[ldap3.Connection]:
        connection = ldap3.Connection(
            self._server_pool(),
            user=user,
            password=password,
            receive_timeout=RECEIVE_TIMEOUT_SECONDS,
            raise_exceptions=True,
        )
        try:
            connection.open()
            if self._option("mode") == "ldap+starttls":
                connection.start_tls()
            connection.bind()
            yield connection
        finally:
            connection.unbind()

    @contextmanager
    def _service_connection(self) -> Iterator[ldap3.Connection]:
        """Bound as bind_dn (or anonymously): used for searches."""
        bind_dn = self._option("bind_dn")
        try:
            with self._bound(user=bind_dn or None, password=self.realm.bind_password or None) as c:
                yield c
        except LDAPException as error:
            raise DirectoryError(f"{self.realm.name}: {error}") from error

    def _base_dn(self) -> str:
        base_dn = self._option("base_dn")
        if base_dn:
            return str(base_dn)
        # AD without base_dn: the domain's naming context, as PVE's AD realm derives it.
        return ",".join(f"DC={part}" for part in str(self._option("domain")).split("."))

    def _user_attr(self) -> str:
        return str(self._option("user_attr"))

    def _user_filter(self, name: str | None = None) -> str:
        classes = [c.strip() for c in str(self._option("user_classes")).split(",") if c.strip()]
        parts = ["(|" + "".join(f"(objectClass={c})" for c in classes) + ")"]
        extra = self._option("filter")
        if extra:
            parts.append(extra if str(extra).startswith("(") else f"({extra})")
        attr = self._user_attr()
        parts.append(f"({attr}={escape_filter_chars(name)})" if name else f"({attr}=*)")
        return "(&" + "".join(parts) + ")"

    def find_user_dn(self, name: str) -> str | None:
        with self._service_connection() as connection:
            connection.search(self._base_dn(), self._user_filter(name), attributes=[])
            entries = connection.entries
        return entries[0].entry_dn if len(entries) == 1 else None

    def check_password(self, name: str, password: str) -> bool:
        """Bind as the user: by DN found with the service account, or by UPN for AD."""
        if not password:
            return False  # an empty password would be an anonymous bind that "succeeds"
        if self.is_ad and not self._option("bind_dn"):
            bind_user = name if "@" in name else f"{name}@{self._option('domain')}"
        else:
            bind_user = self.find_user_dn(name)
            if bind_user is None:
                return False
        try:
            with self._bound(user=bind_user, password=password):
                return True
        except LDAPBindError:
            return False
        except LDAPException as error:
            raise DirectoryError(f"{self.realm.name}: {error}") from error

    def _sync_attribute_map(self) -> dict[str, str]:
        configured = self._option("sync_attributes")
        if not configured:
            return dict(DEFAULT_SYNC_ATTRIBUTES)
        pairs = (item.split("=", 1) for item in str(configured).split(",") if "=" in item)
        return {prop.strip(): attr.strip() for prop, attr in pairs}

    def list_users(self) -> list[DirectoryUser]:
        attribute_map = self._sync_attribute_map()
        attr = self._user_attr()
        with self._service_connection() as connection:
            entries = connection.extend.standard.paged_search(
                self._base_dn(),
                self._user_filter(),
                attributes=[attr, *attribute_map.values()],
                paged_size=500,
                generator=False,
            )
        users = []
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            attributes = entry["attributes"]
            name = _first(attributes.get(attr))
            if not name:
                continue
            properties = {
                prop: value
                for prop, directory_attr in attribute_map.items()
                if (value := _first(attributes.get(directory_attr)))
            }
            users.append(DirectoryUser(name=name, dn=entry["dn"], properties=properties))
        return users

    def list_groups(self) -> list[DirectoryGroup]:
        name_attr = str(self._option("group_name_attr"))
        classes = [c.strip() for c in str(self._option("group_classes")).split(",") if c.strip()]
        search = "(|" + "".join(f"(objectClass={c})" for c in classes) + ")"
        extra = self._option("group_filter")
        if extra:
            search = f"(&{search}{extra if str(extra).startswith('(') else f'({extra})'})"
        base = str(self._option("group_dn") or self._base_dn())
        with self._service_connection() as connection:
            entries = connection.extend.standard.paged_search(
                base,
                search,
                attributes=[name_attr, "member", "uniqueMember"],
                paged_size=500,
                generator=False,
            )
        groups = []
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue
            attributes = entry["attributes"]
            name = _first(attributes.get(name_attr))
            if not name:
                continue
            members = [
                *_as_list(attributes.get("member")),
                *_as_list(attributes.get("uniqueMember")),
            ]
            groups.append(
                DirectoryGroup(name=name, member_dns=frozenset(m.lower() for m in members))
            )
        return groups


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)]


def _first(value: object) -> str:
    items = _as_list(value)
    return items[0] if items else ""
