"""A real OpenID Connect provider for the tests: panva's oidc-provider (server.mjs) on loopback.

Its development login form accepts any login and password; the login becomes the `sub` claim,
`<login>@example.org` the email, and GROUPS the `groups` claim.
"""

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.services.network import free_port, stop, wait_for_port

HERE = Path(__file__).resolve().parent
GROUPS = {"alice": ["admins", "devs"], "bob": ["devs", "not a group name"]}
CLIENT_ID = "portal"
CLIENT_SECRET = "oidc-client-secret"


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str
    client_secret: str

    def sign_in(self, authorize_url: str, *, login: str) -> str:
        """Sign in at the IdP as `login`, as a browser would; the redirect back to the portal."""
        with requests.Session() as browser:
            response = browser.get(authorize_url, allow_redirects=False)
            while response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not location.startswith(self.issuer):
                    return location
                response = browser.get(location, allow_redirects=False)
                form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                if response.status_code == 200 and form and 'name="login"' in response.text:
                    response = browser.post(
                        urljoin(response.url, form.group(1)),
                        data={"prompt": "login", "login": login, "password": "any"},
                        allow_redirects=False,
                    )
        raise AssertionError(f"the IdP did not send the browser back: {response.status_code}")


StartOidcProvider = Callable[[list[str]], OidcProvider]


@pytest.fixture(name="oidc_provider")
def oidc_provider_fixture() -> Iterator[StartOidcProvider]:
    """Starts an IdP whose one client may redirect to the given URIs (the portal's callbacks)."""
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"oidc-provider is not installed: run `make test-packages` ({HERE})")
    processes: list[subprocess.Popen] = []

    def start(redirect_uris: list[str]) -> OidcProvider:
        port = free_port()
        config = {
            "port": port,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "redirectUris": redirect_uris,
            "groups": GROUPS,
        }
        process = subprocess.Popen(
            ["node", str(HERE / "server.mjs"), json.dumps(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        wait_for_port(port, process=process)
        return OidcProvider(
            issuer=f"http://127.0.0.1:{port}", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        )

    yield start
    for process in processes:
        stop(process)
