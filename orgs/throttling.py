from rest_framework.throttling import SimpleRateThrottle

from orgs.permissions import principal_of


class PrincipalRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per OIDC user and organization); anonymous calls by address."""

    scope = "principal"

    def get_cache_key(self, request, view):
        principal = principal_of(request)
        ident = principal.throttle_ident if principal else f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
