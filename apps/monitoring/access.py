"""Who may read /metrics: a scraper from one of the configured networks, or one that sends
the configured bearer token."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def scrape_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    authorization = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )
