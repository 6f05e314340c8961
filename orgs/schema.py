"""OpenAPI descriptions of the authentication schemes, for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "orgs.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": "An organization key, dxp_..."}


class ScaffoldKeyScheme(OpenApiAuthenticationExtension):
    target_class = "orgs.authentication.ScaffoldKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-KEY"}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "orgs.oidc.CatalogOIDCAuthentication"
    name = "BearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An OIDC access token (JWT), or an organization key dxp_... as OpenLineage clients send it.",
        }
