"""A real Samba Active Directory domain controller on loopback (fixed ports 389/636/88)."""

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services.network import stop, wait_for_port

REALM = "EXAMPLE.TEST"
DOMAIN = "example.test"
BASE_DN = "DC=example,DC=test"
ADMIN_PASSWORD = "Passw0rd!x"
USERS = {"dave": "Dave-AD-pw1", "erin": "Erin-AD-pw1"}
GROUPS = {"portal-admins": ["dave"], "portal-users": ["dave", "erin"]}


@dataclass(frozen=True)
class SambaAd:
    directory: Path
    domain: str = DOMAIN
    base_dn: str = BASE_DN
    admin_upn: str = f"Administrator@{DOMAIN}"
    admin_password: str = ADMIN_PASSWORD
    ldaps_port: int = 636

    def tool(self, *args: str) -> None:
        subprocess.run(
            ["samba-tool", *args, "-s", str(self.directory / "etc" / "smb.conf")],
            check=True,
            capture_output=True,
            text=True,
        )


@pytest.fixture(scope="session")
def samba_ad(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaAd]:
    directory = tmp_path_factory.mktemp("samba")
    subprocess.run(
        [
            "samba-tool",
            "domain",
            "provision",
            f"--realm={REALM}",
            "--domain=EXAMPLE",
            "--server-role=dc",
            "--dns-backend=NONE",
            f"--adminpass={ADMIN_PASSWORD}",
            f"--targetdir={directory}",
            "--use-rfc2307",
        ],
        check=True,
        capture_output=True,
    )
    config = directory / "etc" / "smb.conf"
    config.write_text(
        config.read_text().replace(
            "[global]",
            "[global]\n\tinterfaces = lo\n\tbind interfaces only = yes\n"
            "\tserver services = ldap, cldap, kdc, rpc, drepl, kcc\n"
            f"\tlog file = {directory}/samba.log\n",
            1,
        )
    )
    samba = SambaAd(directory=directory)
    samba.tool("domain", "passwordsettings", "set", "--max-pwd-age=0", "--complexity=off")
    for name, password in USERS.items():
        samba.tool(
            "user",
            "create",
            name,
            password,
            f"--mail-address={name}@{DOMAIN}",
            f"--given-name={name.title()}",
            "--surname=Example",
        )
    for group, members in GROUPS.items():
        samba.tool("group", "add", group)
        samba.tool("group", "addmembers", group, ",".join(members))
    process = subprocess.Popen(
        ["samba", "-s", str(config), "-i", "-M", "single"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(samba.ldaps_port, process=process, timeout=60)
        yield samba
    finally:
        stop(process)
