"""How the OpenAPI schema (drf-spectacular) describes API-token authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.access.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <user@realm!name>=<secret>`; PVE's "
            "`Authorization: PVEAPIToken=<user@realm!name>=<secret>` works too.",
        }
