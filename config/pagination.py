from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.response import Response


class EnvelopeCursorPagination(CursorPagination):
    """Cursor pagination (stable while rows are added) inside the envelope:
    `{"success": true, "message": ..., "data": [...], "pagination": {"next", "previous"}}`."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "success": True,
                "message": "OK",
                "data": data,
                "pagination": {"next": self.get_next_link(), "previous": self.get_previous_link()},
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["success", "message", "data", "pagination"],
            "properties": {
                "success": {"type": "boolean", "enum": [True]},
                "message": {"type": "string"},
                "data": schema,
                "pagination": {
                    "type": "object",
                    "properties": {"next": link, "previous": link},
                },
            },
        }
