"""Probes answer whatever the Host header says.

Kubernetes, Docker's HEALTHCHECK and load balancers probe a container by its IP address (or localhost),
which is not a name in DJANGO_ALLOWED_HOSTS: Django would answer 400 DisallowedHost and the instance would
never become ready. This middleware sits before anything that validates the host (CommonMiddleware) and
serves the two probe paths itself. Host validation stays for every other path: the probes build no URL
from the host, and their answers carry no data.
"""

from config.health import health, ready

PROBES = {"/health": health, "/health/": health, "/ready": ready, "/ready/": ready}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
