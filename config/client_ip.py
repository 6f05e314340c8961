"""The client's address as the login throttle (django-axes) sees it.

Behind DATAXPIPE_TRUSTED_PROXY_COUNT reverse proxies, each proxy appends the address it saw to
X-Forwarded-For; the client is the entry the first trusted proxy wrote, counted from the right.
Entries left of it were written by the client itself and are ignored, so a forged header cannot
give every attempt a fresh address. With no trusted proxy, REMOTE_ADDR is the client.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.DATAXPIPE_TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote  # the request did not come through every trusted proxy
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
