"""DRF authentication with portal API tokens, in PVE's header form or as a bearer token.

    Authorization: PVEAPIToken=alice@pve!ci=<secret>
    Authorization: Bearer alice@pve!ci=<secret>

As PVE does, the value is URI-unescaped and split at its last '=' (a space also separates token
id and secret). `request.user` is the owner, `request.auth` the ApiToken: checks through
`apps.access.engine` then apply the token's privilege separation.
"""

import re
from urllib.parse import unquote

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from apps.access.models import ApiToken
from apps.access.services import token_authenticate
from apps.identity.models import User

PVE_SCHEME = "PVEAPIToken"
_HEADER_RE = re.compile(rf"(?:{PVE_SCHEME}(?:=|\s+)|Bearer\s+)(?P<credentials>.+)", re.IGNORECASE)
_CREDENTIALS_RE = re.compile(r"(?P<tokenid>.+?)(?:=|\s+)(?P<secret>[^=\s]+)")
FAILED = "Authentication failed!"  # PVE's wording, the same for every failure


def split_credentials(header: str) -> tuple[str, str] | None:
    """(token id, secret) from an Authorization header value; None if it is not a token."""
    match = _HEADER_RE.fullmatch(header.strip())
    if match is None:
        return None
    credentials = _CREDENTIALS_RE.fullmatch(unquote(match.group("credentials")).strip())
    if credentials is None:
        raise exceptions.AuthenticationFailed(FAILED)
    return credentials.group("tokenid"), credentials.group("secret")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: HttpRequest) -> tuple[User, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        credentials = split_credentials(header) if header else None
        if credentials is None:
            return None  # not ours: let the next class (sessions) try
        token = token_authenticate(tokenid=credentials[0], secret=credentials[1])
        if token is None:
            raise exceptions.AuthenticationFailed(FAILED)
        return token.user, token

    def authenticate_header(self, request: HttpRequest) -> str:
        # Makes DRF answer 401 (not 403) when a token is missing or wrong.
        return PVE_SCHEME
