"""Webhook endpoints, events and deliveries over the API."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Tenant
from accounts.permissions import IsOrganizationMember, OwnerWritesMembersRead
from accounts.viewsets import OrganizationScopedViewSet
from config.envelope import respond
from config.errors import InvalidInputError
from webhooks.event_types import EVENT_TYPES
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.serializers import (
    DeliveryDetailSerializer,
    DeliveryFilterSerializer,
    DeliverySerializer,
    EndpointInputSerializer,
    EndpointSerializer,
    EndpointWithSecretSerializer,
    EventDetailSerializer,
    EventFilterSerializer,
    EventSerializer,
    EventTypeSerializer,
    RecoveredSerializer,
    RecoverInputSerializer,
    RotatedSecretSerializer,
)
from webhooks.services import (
    delivery_resend,
    endpoint_create,
    endpoint_delete,
    endpoint_enable,
    endpoint_recover,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_update,
)


def _tenant(request: Request, tenant_id: str | None) -> Tenant | None:
    if tenant_id is None:
        return None
    tenant = Tenant.objects.filter(organization=request.organization, pk=tenant_id).first()
    if tenant is None:
        raise InvalidInputError("No such tenant.", errors={"tenant_id": ["No such tenant."]})
    return tenant


class WebhookEndpointViewSet(OrganizationScopedViewSet):
    """Where events are sent. Deliveries are signed per the Standard Webhooks spec
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`), at least once, unordered."""

    queryset = WebhookEndpoint.objects.all()
    permission_classes = [OwnerWritesMembersRead]
    lookup_value_regex = r"we_[A-Za-z0-9]+"

    @extend_schema(responses=EndpointSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(request=EndpointInputSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request: Request) -> Response:
        payload = EndpointInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        endpoint, secret = endpoint_create(
            organization=request.organization,
            url=data["url"],
            description=data.get("description", ""),
            event_types=data.get("event_types", []),
            tenant=_tenant(request, data.get("tenant_id")),
        )
        body = {**EndpointSerializer(endpoint).data, "secret": secret}
        return respond(body, "Webhook endpoint created. Copy the secret now.", status=201)

    @extend_schema(responses=EndpointSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        return respond(EndpointSerializer(self.get_object()).data)

    @extend_schema(request=EndpointInputSerializer, responses=EndpointSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        payload = EndpointInputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        options: dict[str, Any] = {
            k: data[k] for k in ("url", "description", "event_types") if k in data
        }
        if "tenant_id" in data:
            options["tenant"] = _tenant(request, data["tenant_id"])
        endpoint = endpoint_update(endpoint=endpoint, **options)
        return respond(EndpointSerializer(endpoint).data, "Webhook endpoint updated.")

    @extend_schema(responses={200: EndpointSerializer})
    def destroy(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        data = EndpointSerializer(endpoint).data
        endpoint_delete(endpoint=endpoint)
        return respond(data, "Webhook endpoint deleted.")

    @extend_schema(request=None, responses=RotatedSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        secret = endpoint_rotate_secret(endpoint=endpoint)
        return respond(
            {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at},
            "Secret rotated. The previous secret keeps signing for 24 hours.",
        )

    @extend_schema(request=None, responses=EndpointSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, pk: str) -> Response:
        endpoint = endpoint_enable(endpoint=self.get_object())
        return respond(EndpointSerializer(endpoint).data, "Webhook endpoint enabled.")

    @extend_schema(request=None, responses={202: EventSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        event = endpoint_send_test(endpoint=self.get_object())
        return respond(EventSerializer(event).data, "Test event queued.", status=202)

    @extend_schema(request=RecoverInputSerializer, responses={202: RecoveredSerializer})
    @action(detail=True, methods=["post"])
    def recover(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        payload = RecoverInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        count = endpoint_recover(endpoint=endpoint, since=payload.validated_data["since"])
        return respond({"messages": count}, f"{count} failed messages queued again.", status=202)


class WebhookEventViewSet(OrganizationScopedViewSet):
    """Events as published, newest first, with how their deliveries went."""

    queryset = WebhookEvent.objects.all()
    permission_classes = [IsOrganizationMember]
    lookup_value_regex = r"evt_[A-Za-z0-9]+"

    def _filtered(self, request: Request) -> QuerySet[WebhookEvent]:
        filters = EventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        events = self.get_queryset()
        data = filters.validated_data
        if "type" in data:
            events = events.filter(type=data["type"])
        deliveries = WebhookDelivery.objects.filter(endpoint__organization=request.organization)
        if "delivery_status" in data:
            deliveries = deliveries.filter(status=data["delivery_status"])
        if "endpoint_id" in data:
            deliveries = deliveries.filter(endpoint_id=data["endpoint_id"])
        if "delivery_status" in data or "endpoint_id" in data:
            events = events.filter(pk__in=deliveries.values("event_id"))
        return events

    @extend_schema(parameters=[EventFilterSerializer], responses=EventSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self._filtered(request))
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(responses=EventDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        event = self.get_object()
        return respond(EventDetailSerializer(event).data)


class WebhookDeliveryViewSet(OrganizationScopedViewSet):
    """Each event's delivery to each endpoint, with its attempts; resend one."""

    queryset = WebhookDelivery.objects.select_related("event")
    permission_classes = [OwnerWritesMembersRead]
    organization_field = "endpoint__organization"
    lookup_value_regex = r"dlv_[A-Za-z0-9]+"

    @extend_schema(parameters=[DeliveryFilterSerializer], responses=DeliverySerializer(many=True))
    def list(self, request: Request) -> Response:
        filters = DeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        deliveries = self.get_queryset().filter(**filters.validated_data)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(responses=DeliveryDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        delivery = self.get_queryset().prefetch_related("attempt_log").get(pk=self.get_object().pk)
        return respond(DeliveryDetailSerializer(delivery).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        again = delivery_resend(delivery=self.get_object())
        return respond(DeliverySerializer(again).data, "Message queued again.", status=202)


class EventTypesView(APIView):
    """Every event type we publish, and what it means."""

    permission_classes = [IsOrganizationMember]

    @extend_schema(responses=EventTypeSerializer(many=True), operation_id="event_types_list")
    def get(self, request: Request) -> Response:
        return respond([{"type": t, "description": d} for t, d in EVENT_TYPES.items()])
