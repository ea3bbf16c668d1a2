"""How the OpenAPI schema describes API key authentication (loaded in AccountsConfig.ready)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dk_<8 characters>_<32 characters>",
            "description": (
                "An API key from the dashboard, sent as `Authorization: Bearer <key>`. "
                "Keys in the query string are refused."
            ),
        }
