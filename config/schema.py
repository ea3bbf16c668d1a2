"""The OpenAPI schema as developers see it: success bodies inside the envelope, the error
envelope documented on every operation, and only the /api/v1/ surface."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, force_instance

ERROR_SCHEMA = {
    "type": "object",
    "required": ["success", "code", "message", "errors"],
    "properties": {
        "success": {"type": "boolean", "description": "Always false."},
        "code": {"type": "string", "example": "VALIDATION_ERROR"},
        "message": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (VALIDATION_ERROR) or a refused action (its own code).",
    "401": "NOT_AUTHENTICATED, INVALID_API_KEY or API_KEY_REVOKED.",
    "403": "PERMISSION_DENIED: the key or user lacks the role this action needs.",
    "404": "NOT_FOUND: no such object in your organization.",
    "429": "THROTTLED: slow down; see the Retry-After header.",
}


class EnvelopeAutoSchema(AutoSchema):
    """Shows each success body inside the envelope and documents the error envelope."""

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: str,
        media_types: Any = None,
        direction: str = "response",
    ) -> dict[str, Any]:
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        instance = force_instance(serializer)
        paginated = self._is_list_view(instance) and self._get_paginator() is not None
        if not status_code.startswith("2") or paginated:
            return response
        for media in response.get("content", {}).values():
            media["schema"] = {
                "type": "object",
                "required": ["success", "message", "data"],
                "properties": {
                    "success": {"type": "boolean", "description": "Always true."},
                    "message": {"type": "string"},
                    "data": media["schema"],
                },
            }
        return response

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = ResolvedComponent(
            name="Error", type=ResolvedComponent.SCHEMA, schema=ERROR_SCHEMA, object="Error"
        )
        self.registry.register_on_missing(component)
        for code, description in ERROR_DESCRIPTIONS.items():
            if code == "400" and self.method in ("GET", "DELETE"):
                continue
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": component.ref}},
                    "description": description,
                },
            )
        return responses


def only_public_api_endpoints(endpoints: list[tuple]) -> list[tuple]:
    """The published schema documents the developer surface (/api/v1/), not the internal
    one the dashboard calls."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def describe_webhook_event_types(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """Lists every webhook event type, with its meaning, in the API description."""
    from webhooks.event_types import describe_event_types

    info = result.setdefault("info", {})
    info["description"] = (
        info.get("description", "")
        + "\n\n## Webhook event types\n\nDeliveries follow the Standard Webhooks "
        "specification and are made at least once and in no particular order: de-duplicate "
        "on `webhook-id`, and re-fetch the object when order matters. "
        "`GET /api/v1/event-types` returns this list too.\n\n" + describe_event_types()
    )
    return result
