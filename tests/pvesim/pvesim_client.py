"""Client-side helpers for pvesim tests: pinned TLS, proxmoxer clients, task polling."""

from __future__ import annotations

import hashlib
import ssl
import time
from pathlib import Path
from typing import Any

import requests
from proxmoxer import ProxmoxAPI

from tests.pvesim_server import PvesimServer


def pinned_ca_file(server: PvesimServer, directory: Path) -> Path:
    """Fetch the server certificate, check it against the pinned fingerprint, save it as CA."""
    pem = ssl.get_server_certificate((server.host, server.port))
    der = ssl.PEM_cert_to_DER_cert(pem)
    seen = ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())
    assert seen == server.fingerprint, "certificate does not match the pinned fingerprint"
    path = directory / "pvesim-ca.pem"
    path.write_text(pem)
    return path


def root_api(server: PvesimServer, ca_file: Path) -> ProxmoxAPI:
    return ProxmoxAPI(
        server.host,
        port=server.port,
        user="root@pam",
        password=server.root_password,
        verify_ssl=str(ca_file),
        timeout=10,
    )


def token_api(server: PvesimServer, ca_file: Path, tokenid: str, secret: str) -> ProxmoxAPI:
    userid, _, name = tokenid.partition("!")
    return ProxmoxAPI(
        server.host,
        port=server.port,
        user=userid,
        token_name=name,
        token_value=secret,
        verify_ssl=str(ca_file),
        timeout=10,
    )


def wait_task(api: ProxmoxAPI, upid: str, timeout: float = 20.0) -> dict[str, Any]:
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        time.sleep(0.02)
    raise AssertionError(f"task {upid} did not finish")


def wait_ok(api: ProxmoxAPI, upid: str) -> dict[str, Any]:
    status = wait_task(api, upid)
    assert status["exitstatus"] == "OK", status
    return status


class RawClient:
    """Plain requests against the API, to inspect status lines and error bodies."""

    def __init__(self, server: PvesimServer, ca_file: Path) -> None:
        self.base = server.base_url
        self.session = requests.Session()
        # Passed per request: a session-level `verify` loses against REQUESTS_CA_BUNDLE.
        self.ca_file = str(ca_file)
        self.csrf = ""

    def login(self, username: str, password: str) -> dict[str, Any]:
        response = self.post("/access/ticket", data={"username": username, "password": password})
        assert response.status_code == 200, response.reason
        data = response.json()["data"]
        if "NeedTFA" not in data:
            self.use_ticket(data["ticket"], data["CSRFPreventionToken"])
        return data

    def use_ticket(self, ticket: str, csrf: str) -> None:
        self.session.cookies.set("PVEAuthCookie", ticket)
        self.csrf = csrf

    def use_token(self, tokenid: str, secret: str) -> None:
        self.session.headers["Authorization"] = f"PVEAPIToken={tokenid}={secret}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.csrf and method != "GET":
            headers.setdefault("CSRFPreventionToken", self.csrf)
        return self.session.request(
            method, self.base + path, headers=headers, timeout=10, verify=self.ca_file, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
