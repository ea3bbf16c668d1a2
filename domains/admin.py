import time
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Tenant
from audit.admin import AuditedModelAdmin, ReadOnlyModelAdmin, ReadOnlyTabularInline
from config.admin import ActionReport, DomainNameSearchMixin, first_of_selection
from domains.models import DomainRecord, Message, SendCount, SendingDomain
from domains.services import (
    sending_domain_delete,
    sending_domain_set_tenant,
    sending_domain_verify,
)
from domains.tasks import check_chunk


class DomainRecordInline(ReadOnlyTabularInline):
    model = DomainRecord
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


# A re-check asks the provider and DNS for each domain while the staff user waits: what
# is left when the time budget is spent (well inside gunicorn's 30-second timeout) goes
# to the worker.
ACTION_TIME_BUDGET = 15.0


@admin.register(SendingDomain)
class SendingDomainAdmin(DomainNameSearchMixin, AuditedModelAdmin):
    """Staff see every organization's domains and can re-check them; records are derived
    from the provider and are read-only here."""

    list_display = [
        "display_name",
        "name",
        "organization",
        "tenant",
        "status",
        "provider",
        "region",
        "verified_at",
        "last_checked_at",
        "consecutive_failures",
    ]
    list_filter = ["status", "provider", "region", ("tenant", admin.EmptyFieldListFilter)]
    list_select_related = ["organization", "tenant"]
    search_fields = [
        "name",
        "display_name",
        "=id",
        "organization__name",
        "=organization__id",
        "tenant__name",
        "=tenant__id",
        "tenant__external_id",
    ]
    domain_name_fields = ("name", "display_name")
    date_hierarchy = "created_at"
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
    # The tenant is the one field staff change here. The rest change only through the
    # services (the dashboard, the API), which call the provider, rewrite the records and
    # announce the change; a domain never moves to another organization.
    readonly_fields = [name for name in fields if name != "tenant"]
    inlines = [DomainRecordInline]
    actions = ["recheck", "restart_verification"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added through the API or the dashboard, where the provider is called

    def get_form(
        self, request: HttpRequest, obj: SendingDomain | None = None, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "tenant" in form.base_fields:
            # Only the domain's own organization's tenants can be bound.
            form.base_fields["tenant"].queryset = Tenant.objects.filter(
                organization_id=obj.organization_id
            )
        return form

    def save_model(self, request: HttpRequest, obj: SendingDomain, form: Any, change: bool) -> None:
        # The tenant is the one field staff change here: through the service, which
        # announces it and makes the next send see it.
        if change and "tenant" in form.changed_data:
            stored = SendingDomain.objects.get(pk=obj.pk)
            sending_domain_set_tenant(domain=stored, tenant=obj.tenant)

    def delete_model(self, request: HttpRequest, obj: SendingDomain) -> None:
        sending_domain_delete(domain=obj)  # the provider, the event and the cache too

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SendingDomain]) -> None:
        for domain in queryset:
            sending_domain_delete(domain=domain)

    def domain_search_detail(self, obj: SendingDomain) -> str:
        return f"Sending domain of {obj.organization} · {obj.get_status_display()}"

    @admin.action(description="Re-check now", permissions=["change"])
    def recheck(self, request: HttpRequest, queryset: QuerySet[SendingDomain]) -> None:
        report = ActionReport()
        started = time.monotonic()
        selected = list(first_of_selection(self, request, queryset))
        for position, domain in enumerate(selected):
            if time.monotonic() - started > ACTION_TIME_BUDGET:
                rest = selected[position:]
                check_chunk.delay([d.pk for d in rest])
                for queued in rest:
                    report.ok("Queued for the worker (checked within a minute)", queued)
                break
            outcome = sending_domain_verify(domain=domain, requested=True)
            if outcome.transient:
                report.skip(f"not checked just now, status unchanged ({outcome.message})", domain)
            else:
                report.ok(f"Re-checked, now {domain.get_status_display().lower()}", domain)
        report.send(self, request)

    @admin.action(description="Restart verification (SES, failed)", permissions=["change"])
    def restart_verification(self, request: HttpRequest, queryset: QuerySet[SendingDomain]) -> None:
        """SES gives up on an identity after 72 hours; the verify service, asked by a
        person, starts a fresh one. Other domains have nothing to restart."""
        report = ActionReport()
        for domain in first_of_selection(self, request, queryset):
            if domain.provider != SendingDomain.Provider.SES:
                report.skip("self-managed DKIM has no provider verification to restart", domain)
            elif domain.status != SendingDomain.Status.FAILED:
                report.skip(
                    f"{domain.get_status_display().lower()}, only failed domains restart "
                    "(use Re-check now)",
                    domain,
                )
            else:
                outcome = sending_domain_verify(domain=domain, requested=True)
                if outcome.domain.status == SendingDomain.Status.FAILED:
                    report.skip(f"SES did not start over ({outcome.message})", domain)
                else:
                    report.ok(f"Restarted, now {domain.get_status_display().lower()}", domain)
        report.send(self, request)


@admin.register(DomainRecord)
class DomainRecordAdmin(ReadOnlyModelAdmin):
    """Every DNS record customers were asked to publish, with what the last check saw:
    e.g. all failing DKIM records."""

    list_display = [
        "hostname",
        "type",
        "purpose",
        "status",
        "hint",
        "domain",
        "checked_at",
    ]
    list_filter = ["status", "type", "purpose", "required", "hint"]
    list_select_related = ["domain"]
    search_fields = ["hostname", "value", "domain__name", "=domain__id"]
    exclude = ["fix"]
    readonly_fields = [
        "domain",
        "position",
        "type",
        "hostname",
        "host",
        "zone",
        "value",
        "purpose",
        "required",
        "status",
        "hint",
        "seen_value",
        "suggested_value",
        "checked_at",
    ]


@admin.register(SendCount)
class SendCountAdmin(ReadOnlyModelAdmin):
    """Recipients counted against each domain's warmup cap, per UTC day."""

    list_display = ["day", "domain", "count"]
    list_select_related = ["domain"]
    search_fields = ["domain__name", "=domain__id"]
    date_hierarchy = "day"
    readonly_fields = ["domain", "day", "count"]


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin):
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
    search_fields = [
        "=id",
        "domain_name",
        "from_address",
        "subject",
        "provider_message_id",
        "organization__name",
    ]
    date_hierarchy = "created_at"
    exclude = ["request_hash"]
