from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

INVALID_CURSOR = "Invalid cursor: use the next or previous link of an earlier page."


class EnvelopeCursorPagination(CursorPagination):
    """Cursor pagination (stable while rows are added) inside the envelope:
    `{"success": true, "message": ..., "data": [...], "pagination": {"next", "previous"}}`."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 200

    _model: type[Model] | None = None

    def paginate_queryset(
        self, queryset: QuerySet[Model], request: Request, view: Any = None
    ) -> list[Model] | None:
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor is opaque to clients, but it is their input: one that was not made
        by us (a position the ordering field cannot hold) is a 400, not a failed query."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({"cursor": [INVALID_CURSOR]}) from exc
        if cursor is not None and cursor.position is not None and self._model is not None:
            field_name = self.ordering[0].lstrip("-") if self.ordering else ""
            try:
                field = self._model._meta.get_field(field_name)
                if field.to_python(cursor.position) is None:
                    raise ValidationError({"cursor": [INVALID_CURSOR]})
            except FieldDoesNotExist:
                pass
            except (DjangoValidationError, ValueError, TypeError) as exc:
                raise ValidationError({"cursor": [INVALID_CURSOR]}) from exc
        return cursor

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
                "success": {"type": "boolean", "description": "Always true."},
                "message": {"type": "string"},
                "data": schema,
                "pagination": {
                    "type": "object",
                    "properties": {"next": link, "previous": link},
                },
            },
        }
