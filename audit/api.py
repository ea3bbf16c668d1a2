"""The audit log over the API: list with filters (cursor pages), one event, CSV export.
Owners only: the log shows who did what, from which address."""

import json
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import IsOrganizationOwner
from accounts.viewsets import OrganizationScopedViewSet
from audit.export import csv_response
from audit.models import AuditEvent
from audit.selectors import audit_events_for
from audit.serializers import AuditEventSerializer, AuditFilterSerializer
from config.envelope import respond
from config.pagination import EnvelopeCursorPagination


class CsvRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation for the export; the export
    streams its own CSV, and an error is still the JSON envelope."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode()


class AuditPagination(EnvelopeCursorPagination):
    ordering = "-sequence"


class AuditEventViewSet(OrganizationScopedViewSet):
    queryset = AuditEvent.objects.all()
    permission_classes = [IsOrganizationOwner]
    pagination_class = AuditPagination
    lookup_field = "id"
    lookup_value_regex = r"aud_[A-Za-z0-9]+"

    def _filtered(self, request: Request) -> Any:
        filters = AuditFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return audit_events_for(
            organization=request.organization, filters=filters.validated_data
        ).order_by("-sequence")

    @extend_schema(parameters=[AuditFilterSerializer], responses=AuditEventSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self._filtered(request))
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)

    @extend_schema(responses=AuditEventSerializer)
    def retrieve(self, request: Request, id: str) -> Response:
        return respond(AuditEventSerializer(self.get_object()).data)

    @extend_schema(
        parameters=[AuditFilterSerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        renderer_classes=[JSONRenderer, CsvRenderer],
    )
    def export(self, request: Request) -> StreamingHttpResponse:
        """Every matching event as CSV (streamed; JSON columns as JSON text)."""
        return csv_response(self._filtered(request), request.organization.pk)
