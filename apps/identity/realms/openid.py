"""OpenID Connect realms, PVE's `openid` type, as django-allauth `openid_connect` apps.

The Realm row is the only configuration: each enabled OIDC realm becomes an (unsaved) SocialApp
whose provider_id is the realm name, so the IdP's redirect URI is
`<portal>/accounts/oidc/<realm>/login/callback/`.
"""

from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
from allauth.socialaccount.models import SocialApp

from apps.identity.models import Realm
from apps.identity.realms.options import option_value

PROVIDER = "openid_connect"
DISCOVERY_TIMEOUT_SECONDS = 10
# What the portal's sign-in needs from the provider's discovery document.
DISCOVERY_KEYS = ("authorization_endpoint", "token_endpoint", "jwks_uri")

# PVE's username-claim keywords; any other value names the claim itself.
USERNAME_CLAIMS = {"subject": "sub", "username": "preferred_username", "email": "email"}


def _option(realm: Realm, name: str) -> object:
    return option_value(Realm.Type.OPENID, realm.options, name)


def realm_social_app(realm: Realm) -> SocialApp:
    auth_params = {
        parameter: str(value)
        for parameter, value in (
            ("prompt", _option(realm, "prompt")),
            ("acr_values", _option(realm, "acr-values")),
        )
        if value
    }
    return SocialApp(
        provider=PROVIDER,
        provider_id=realm.name,
        name=realm.comment or realm.name,
        client_id=str(_option(realm, "client-id")),
        secret=realm.client_key,
        settings={
            "server_url": str(_option(realm, "issuer-url")),
            "scope": ["openid", *str(_option(realm, "scopes")).split()],
            "auth_params": auth_params,
            "fetch_userinfo": bool(_option(realm, "query-userinfo")),
            "oauth_pkce_enabled": True,
        },
    )


def issuer_origin(realm: Realm) -> str:
    """Where the browser is sent to sign in: the IdP's authorization endpoint is expected on the
    issuer's origin (scheme, host, port), as with every common IdP."""
    parts = urlsplit(str(_option(realm, "issuer-url")))
    return f"{parts.scheme}://{parts.netloc}"


def claimed_name(realm: Realm, claims: Mapping[str, object]) -> str:
    """The value of the realm's username claim, '' when the IdP did not send it."""
    keyword = str(_option(realm, "username-claim"))
    value = claims.get(USERNAME_CLAIMS.get(keyword, keyword))
    return value if isinstance(value, str) else ""


def claimed_groups(realm: Realm, claims: Mapping[str, object]) -> list[str]:
    """The groups claim's values (a list, or one string), [] without a groups-claim."""
    claim = _option(realm, "groups-claim")
    value = claims.get(str(claim)) if claim else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class DiscoveryError(Exception):
    """The realm's issuer does not serve a usable OpenID Connect discovery document."""


def discovery_check(realm: Realm) -> dict[str, object]:
    """Fetch the issuer's discovery document as sign-in will, and check it is the issuer's own
    (its `issuer` must equal the realm's issuer URL, OpenID Connect Discovery 1.0, 4.3)."""
    issuer = str(_option(realm, "issuer-url")).rstrip("/")
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT_SECONDS)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise DiscoveryError(f"{url}: {error}") from error
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise DiscoveryError(f"{url} names another issuer: {document.get('issuer')!r}")
    missing = [key for key in DISCOVERY_KEYS if not document.get(key)]
    if missing:
        raise DiscoveryError(f"{url} lacks {', '.join(missing)}")
    return document
