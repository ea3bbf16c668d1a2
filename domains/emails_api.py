"""Sending mail over the API: `POST /api/v1/emails` and the message records."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import OwnerWritesMembersRead
from accounts.viewsets import OrganizationScopedViewSet
from config.envelope import respond
from config.parsers import SafeJSONParser
from domains.api import _tenant
from domains.mail import OutgoingEmail
from domains.models import Message
from domains.sending import check_idempotency_key, email_send
from domains.serializers import EmailInputSerializer, MessageFilterSerializer, MessageSerializer

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A retried request with the same key (within 24 hours) answers with the "
    "first result instead of sending again.",
)


class EmailViewSet(OrganizationScopedViewSet):
    """Email sent from the organization's verified domains, within their warmup caps."""

    queryset = Message.objects.all()
    permission_classes = [OwnerWritesMembersRead]
    lookup_value_regex = r"msg_[A-Za-z0-9]+"
    # JSON only: a form post would keep one value of a repeated `to` and drop the rest.
    parser_classes = [SafeJSONParser]

    def _filtered(self, request: Request) -> QuerySet[Message]:
        filters = MessageFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        messages = self.get_queryset()
        for name in ("status", "domain_id", "tenant_id", "kind"):
            if name in filters.validated_data:
                messages = messages.filter(**{name: filters.validated_data[name]})
        return messages

    @extend_schema(parameters=[MessageFilterSerializer], responses=MessageSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self._filtered(request))
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(responses=MessageSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return respond(MessageSerializer(self.get_object()).data)

    @extend_schema(
        request=EmailInputSerializer,
        responses={201: MessageSerializer},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        """Sends one email. 403 `DOMAIN_NOT_VERIFIED` until the from-address's domain is
        verified; 429 `WARMUP_LIMIT_EXCEEDED` (with `cap`, `count`, `resets_at`) once the
        day's warmup cap is used; 422 `MESSAGE_REJECTED` when the provider refuses it."""
        key = check_idempotency_key(request.headers.get("Idempotency-Key"))
        payload = EmailInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        from_name, from_address = data["from"]
        outcome = email_send(
            organization=request.organization,
            email=OutgoingEmail(
                from_address=from_address,
                from_name=from_name,
                to=data["to"],
                cc=data["cc"],
                bcc=data["bcc"],
                reply_to=data["reply_to"],
                subject=data["subject"],
                text=data.get("text", ""),
                html=data.get("html", ""),
                headers=data["headers"],
            ),
            tenant=_tenant(request, data.get("tenant_id")),
            idempotency_key=key,
        )
        response = respond(
            MessageSerializer(outcome.message).data,
            "Email sent." if not outcome.replayed else "Email already sent for this key.",
            status=201,
        )
        if key:
            response["Idempotent-Replayed"] = "true" if outcome.replayed else "false"
        return response
