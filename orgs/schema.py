"""OpenAPI descriptions of the authentication schemes, for drf-spectacular."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The X-API-KEY header. The scaffold keys share it; they are left out of the schema
    (SPECTACULAR_SETTINGS["AUTHENTICATION_WHITELIST"]) because production refuses them."""

    target_class = "orgs.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-KEY",
            "description": "An organization key, dxp_... (local development also accepts the scaffold keys).",
        }


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "orgs.oidc.CatalogOIDCAuthentication"
    name = "BearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An OIDC access token (JWT), or an organization key dxp_... as OpenLineage clients send it.",
        }
