from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin
from domains.models import DomainRecord, Message, SendingDomain
from domains.selectors import sender_cache_forget_name
from domains.services import sending_domain_delete, sending_domain_verify


class DomainRecordInline(admin.TabularInline):
    model = DomainRecord
    extra = 0
    can_delete = False
    fields = [
        "type",
        "host",
        "value",
        "purpose",
        "required",
        "status",
        "hint",
        "seen_value",
        "checked_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: SendingDomain | None = None) -> bool:
        return False


@admin.register(SendingDomain)
class SendingDomainAdmin(AuditedModelAdmin):
    """Staff see every organization's domains and can re-check them; records are derived
    from the provider and are read-only here."""

    list_display = [
        "display_name",
        "organization",
        "status",
        "provider",
        "region",
        "verified_at",
        "last_checked_at",
    ]
    list_filter = ["status", "provider", "region"]
    list_select_related = ["organization"]
    search_fields = ["name", "display_name", "id", "organization__name"]
    readonly_fields = [
        "id",
        "name",
        "display_name",
        "provider",
        "status",
        "verified_at",
        "last_checked_at",
        "next_check_at",
        "consecutive_failures",
        "provider_error_type",
        "ses_dkim_tokens",
        "dkim_selector",
        "created_at",
        "updated_at",
    ]
    fields = [
        "id",
        "organization",
        "tenant",
        "name",
        "display_name",
        "provider",
        "region",
        "fallback_region",
        "status",
        "verified_at",
        "last_checked_at",
        "next_check_at",
        "consecutive_failures",
        "provider_error_type",
        "mail_from_label",
        "ses_dkim_tokens",
        "dkim_selector",
        "warmup_started_at",
        "warmup_total_days",
        "created_at",
        "updated_at",
    ]
    inlines = [DomainRecordInline]
    actions = ["recheck"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added through the API or the dashboard, where the provider is called

    def save_model(self, request: HttpRequest, obj: SendingDomain, form: Any, change: bool) -> None:
        before = SendingDomain.objects.filter(pk=obj.pk).values("organization_id", "name").first()
        super().save_model(request, obj, form, change)
        if before:  # moved to another organization: the old one must stop sending from it
            sender_cache_forget_name(before["organization_id"], before["name"])

    def delete_model(self, request: HttpRequest, obj: SendingDomain) -> None:
        sending_domain_delete(domain=obj)  # the provider, the event and the cache too

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SendingDomain]) -> None:
        for domain in queryset:
            sending_domain_delete(domain=domain)

    @admin.action(description="Re-check selected domains now")
    def recheck(self, request: HttpRequest, queryset: QuerySet[SendingDomain]) -> None:
        for domain in queryset[:50]:
            outcome = sending_domain_verify(domain=domain, requested=True)
            level = messages.WARNING if outcome.transient else messages.INFO
            self.message_user(request, f"{domain}: {domain.status}. {outcome.message}", level)


@admin.register(Message)
class MessageAdmin(AuditedModelAdmin):
    """The send log, read-only: what was sent, from which domain and region, and why a
    message failed."""

    list_display = [
        "id",
        "created_at",
        "organization",
        "domain_name",
        "subject",
        "recipient_count",
        "status",
        "region",
        "fallback_used",
        "error_code",
    ]
    list_filter = ["status", "kind", "provider", "region", "fallback_used"]
    list_select_related = ["organization"]
    search_fields = ["id", "domain_name", "from_address", "subject", "provider_message_id"]
    date_hierarchy = "created_at"
    exclude = ["request_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False
