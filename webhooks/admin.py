from typing import Any

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin, ReadOnlyModelAdmin, ReadOnlyTabularInline
from config.admin import ActionReport
from config.errors import ServiceError
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import (
    delivery_resend,
    endpoint_delete,
    endpoint_disable,
    endpoint_enable,
    endpoint_update,
)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditedModelAdmin):
    """Endpoints are created where the owner sees the secret once (dashboard, API); here
    staff read them, edit the description, and disable or enable them. The secret is
    never shown."""

    list_display = [
        "url",
        "organization",
        "tenant",
        "enabled",
        "disabled_reason",
        "last_success_at",
        "created_at",
    ]
    list_filter = ["enabled", ("tenant", admin.EmptyFieldListFilter)]
    list_select_related = ["organization", "tenant"]
    search_fields = ["url", "=id", "description", "organization__name", "=organization__id"]
    date_hierarchy = "created_at"
    fields = [
        "id",
        "organization",
        "tenant",
        "url",
        "description",
        "event_types",
        "enabled",
        "disabled_reason",
        "disabled_at",
        "enabled_at",
        "last_success_at",
        "exhaustion_notified_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name != "description"]
    actions = ["disable", "enable"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool
    ) -> None:
        # Through the service, on the locked row: a relay that disabled the endpoint
        # meanwhile is not undone by saving the form.
        endpoint_update(endpoint=obj, description=form.cleaned_data["description"])

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_delete(endpoint=endpoint)

    @admin.action(description="Disable (cancels queued deliveries)", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        report = ActionReport()
        reason = f"Disabled by {request.user} (staff)."
        for endpoint in queryset:
            # The staff user acts (actor=None: whoever the request acts as), and the owners
            # are told, since it was not their own click.
            if endpoint_disable(endpoint=endpoint, reason=reason, actor=None):
                report.ok("Disabled", endpoint)
            else:
                report.skip("already disabled", endpoint)
        report.send(self, request)

    @admin.action(description="Enable", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        report = ActionReport()
        for endpoint in queryset:
            if endpoint.enabled:
                report.skip("already enabled", endpoint)
                continue
            try:
                endpoint_enable(endpoint=endpoint)
            except ServiceError as exc:
                report.skip(f"the URL is refused now ({exc.message})", endpoint)
            else:
                report.ok("Enabled", endpoint)
        report.send(self, request)


class DeliveryInline(ReadOnlyTabularInline):
    model = WebhookDelivery
    fields = ["endpoint", "status", "attempts", "last_status_code", "last_attempt_at"]
    show_change_link = True


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    """Events as published, with the exact body that was signed and sent."""

    list_display = ["id", "type", "organization", "tenant", "occurred_at"]
    list_filter = ["type"]
    list_select_related = ["organization", "tenant"]
    search_fields = ["=id", "type", "organization__name", "=organization__id"]
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    inlines = [DeliveryInline]


class AttemptInline(ReadOnlyTabularInline):
    model = WebhookAttempt
    fields = ["number", "attempted_at", "status_code", "duration_ms", "error", "target_address"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    """The delivery log, read-only. Resending creates a new delivery of the same message
    (same webhook-id), so it needs the change permission though nothing here is edited."""

    list_display = [
        "id",
        "event_type",
        "endpoint",
        "organization",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "endpoint__organization"]
    search_fields = [
        "=id",
        "=event__id",
        "event__type",
        "endpoint__url",
        "=endpoint__id",
        "endpoint__organization__name",
    ]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_resend_permission(self, request: HttpRequest) -> bool:
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="Organization", ordering="endpoint__organization__name")
    def organization(self, obj: WebhookDelivery) -> str:
        return str(obj.endpoint.organization)

    @admin.action(description="Resend", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        report = ActionReport()
        for delivery in queryset.select_related("event", "endpoint"):
            try:
                again = delivery_resend(delivery=delivery)
            except ServiceError as exc:
                report.skip(f"{exc.message.rstrip('.').lower()}", delivery.pk)
            else:
                report.ok("Queued again (same webhook-id)", f"{delivery.pk} as {again.pk}")
        report.send(self, request)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyModelAdmin):
    """Each HTTP attempt of a delivery, with what the receiver answered."""

    list_display = [
        "delivery",
        "number",
        "attempted_at",
        "status_code",
        "duration_ms",
        "target_address",
        "error",
    ]
    list_filter = ["status_code"]
    list_select_related = ["delivery"]
    search_fields = ["=delivery__id", "=delivery__event__id", "delivery__endpoint__url"]
    date_hierarchy = "attempted_at"
    readonly_fields = [
        "delivery",
        "number",
        "attempted_at",
        "duration_ms",
        "status_code",
        "response_body",
        "error",
        "target_address",
    ]
