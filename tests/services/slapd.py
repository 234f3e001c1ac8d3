"""A real OpenLDAP server (Debian's slapd) on loopback, with people and groups."""

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services.network import free_port, self_signed_certificate, stop, wait_for_port

BASE_DN = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"uid=portal-sync,ou=services,{BASE_DN}"
SERVICE_PASSWORD = "sync-secret"
PEOPLE = {
    # uid: (password, given name, surname, mail)
    "alice": ("alice-ldap-pw", "Alice", "Liddell", "alice@example.org"),
    "bob": ("bob-ldap-pw", "Bob", "Builder", "bob@example.org"),
    "carol": ("carol-ldap-pw", "Carol", "Danvers", "carol@example.org"),
}
GROUPS = {"admins": ["alice"], "devs": ["alice", "bob"]}


@dataclass(frozen=True)
class Slapd:
    port: int
    tls_port: int
    ca_file: Path
    base_dn: str = BASE_DN
    admin_dn: str = ADMIN_DN
    admin_password: str = ADMIN_PASSWORD
    service_dn: str = SERVICE_DN
    service_password: str = SERVICE_PASSWORD

    def modify(self, ldif: str) -> None:
        subprocess.run(
            [
                "ldapmodify",
                "-x",
                "-H",
                f"ldap://127.0.0.1:{self.port}",
                "-D",
                self.admin_dn,
                "-w",
                self.admin_password,
            ],
            input=ldif,
            text=True,
            check=True,
            capture_output=True,
        )


def _base_ldif() -> str:
    entries = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{BASE_DN}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=services,{BASE_DN}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {SERVICE_DN}\nobjectClass: account\nobjectClass: simpleSecurityObject\n"
        f"uid: portal-sync\nuserPassword: {SERVICE_PASSWORD}",
    ]
    for uid, (password, given, surname, mail) in PEOPLE.items():
        entries.append(
            f"dn: uid={uid},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {given} {surname}\ngivenName: {given}\nsn: {surname}\nmail: {mail}\n"
            f"userPassword: {password}"
        )
    for name, members in GROUPS.items():
        member_lines = "\n".join(f"member: uid={m},ou=people,{BASE_DN}" for m in members)
        entries.append(
            f"dn: cn={name},ou=groups,{BASE_DN}\nobjectClass: groupOfNames\ncn: {name}\n"
            f"{member_lines}"
        )
    return "\n\n".join(entries) + "\n"


def _config(directory: Path, cert: Path, key: Path) -> str:
    schema = "/etc/ldap/schema"
    return f"""
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
database mdb
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {directory}/data
"""


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    directory = tmp_path_factory.mktemp("slapd")
    (directory / "data").mkdir()
    cert, key = self_signed_certificate(directory)
    config = directory / "slapd.conf"
    config.write_text(_config(directory, cert, key))
    (directory / "base.ldif").write_text(_base_ldif())
    subprocess.run(
        ["slapadd", "-f", str(config), "-l", str(directory / "base.ldif")],
        check=True,
        capture_output=True,
    )
    port, tls_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            "slapd",
            "-d",
            "0",
            "-f",
            str(config),
            "-h",
            f"ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{tls_port}/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        wait_for_port(tls_port, process=process)
        yield Slapd(port=port, tls_port=tls_port, ca_file=cert)
    finally:
        stop(process)
