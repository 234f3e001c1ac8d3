"""Creating the portal's API token on a fresh PVE with a user's password (once, at setup)."""

from dataclasses import dataclass

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from apps.proxmox import errors
from apps.proxmox.client import split_address
from apps.proxmox.tls import ca_bundle_file


@dataclass(frozen=True)
class CreatedToken:
    token_id: str
    secret: str


def token_create_with_password(
    *,
    address: str,
    ca_bundle: str,
    userid: str,
    password: str,
    token_name: str,
    privsep: bool = False,
) -> CreatedToken:
    """Log in with a ticket and create `userid!token_name`; PVE shows the secret only now.

    The certificate is verified against `ca_bundle` before the password is sent.
    """
    host, port = split_address(address)
    try:
        api = ProxmoxAPI(
            host,
            port=port,
            user=userid,
            password=password,
            verify_ssl=ca_bundle_file(ca_bundle),
            timeout=15,
        )
        created = api.access.users(userid).token(token_name).post(privsep=int(privsep))
    except AuthenticationError as error:
        raise errors.ProxmoxAuthenticationFailed(str(error), status=401) from error
    except ResourceException as error:
        raise errors.from_resource_exception(error) from error
    except requests.RequestException as error:
        raise errors.from_transport_exception(error, is_write=True) from error
    return CreatedToken(token_id=created["full-tokenid"], secret=created["value"])
