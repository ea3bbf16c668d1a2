"""Dashboard pages for sending domains: the list with its add form, and each domain's page
with the pending card (records, copy buttons, hints, verify and diagnose), warmup, region,
tenant, a test email and delete. Owner-only actions are refused here on the server, not
only hidden in the template."""

from collections.abc import Callable
from typing import Any

from django import forms as forms_module
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.dashboard import (
    dashboard_page,
    diagnose_refusal,
    require_permission,
    submit_form,
)
from accounts.permissions import has_org_permission
from domains.counters import send_counter
from domains.forms import (
    AddDomainForm,
    DeleteForm,
    RegionForm,
    TenantForm,
    TestEmailForm,
    WarmupForm,
)
from domains.models import DomainRecord, Message, SendingDomain
from domains.selectors import sending_domains_for, warmup_cap
from domains.sending import next_utc_midnight, sending_domain_send_test_email
from domains.services import (
    Diagnosis,
    sending_domain_create,
    sending_domain_delete,
    sending_domain_diagnose,
    sending_domain_set_region,
    sending_domain_set_tenant,
    sending_domain_start_warmup,
    sending_domain_verify,
)


@dashboard_page
@require_http_methods(["GET", "POST"])
def domain_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = AddDomainForm(organization=organization)
    if request.method == "POST":
        require_permission(request, "domains.manage")
        form = AddDomainForm(request.POST, organization=organization)
        domain = submit_form(
            form,
            lambda data: sending_domain_create(
                organization=organization,
                name=data["domain"],
                tenant=data.get("tenant"),
                name_field="domain",
            ),
        )
        if domain is not None:
            messages.success(request, f"{domain.display_name} added. Publish its records.")
            return redirect("dashboard-domain", domain_id=domain.pk)
    domains = (
        sending_domains_for(organization=organization)
        .annotate(
            # Required records, as the card counts them (DMARC is recommended, not required).
            total_records=Count("records", filter=Q(records__required=True)),
            verified_records=Count(
                "records",
                filter=Q(records__required=True, records__status=DomainRecord.Status.VERIFIED),
            ),
        )
        .order_by("-created_at")
    )
    return render(
        request,
        "domains/list.html",
        {"domains": domains, "form": form},
        status=400 if form.errors else 200,
    )


def _domain(request: HttpRequest, domain_id: str) -> SendingDomain:
    """The organization's domain, or a 404 (another organization's domain is not there)."""
    return get_object_or_404(
        sending_domains_for(organization=request.organization).prefetch_related("records"),
        pk=domain_id,
    )


def _card_context(domain: SendingDomain) -> dict[str, Any]:
    records = list(domain.records.all())
    required = [r for r in records if r.required]
    return {
        "domain": domain,
        "records": records,
        "required_total": len(required),
        "required_verified": sum(1 for r in required if r.status == DomainRecord.Status.VERIFIED),
    }


def _detail(
    request: HttpRequest,
    domain: SendingDomain,
    *,
    forms: dict[str, forms_module.Form] | None = None,
    diagnosis: Diagnosis | None = None,
    status: int = 200,
) -> HttpResponse:
    organization = request.organization
    now = timezone.now()
    limit = warmup_cap(domain, now)
    context = _card_context(domain) | {
        "warmup": limit,
        # Counted only while a cap applies (the send path takes no slot otherwise).
        "sent_today": send_counter().count(domain.pk, now.date()) if limit.cap else None,
        "warmup_resets_at": next_utc_midnight(now),
        "warmup_form": WarmupForm(initial={"total_days": domain.warmup_total_days}),
        "region_form": RegionForm(
            initial={"region": domain.region, "fallback_region": domain.fallback_region}
        ),
        "tenant_form": TenantForm(organization=organization, initial={"tenant": domain.tenant_id}),
        "test_email_form": TestEmailForm(initial={"to": request.user.email}),
        "messages_sent": Message.objects.filter(domain=domain).order_by("-created_at")[:10],
        "diagnosis": diagnosis,
        "can_manage": has_org_permission(request, "domains.manage"),
        "has_tenants": organization.tenants.exists(),
    }
    context |= forms or {}
    return render(request, "domains/detail.html", context, status=status)


@dashboard_page
@require_GET
def domain_detail(request: HttpRequest, domain_id: str) -> HttpResponse:
    return _detail(request, _domain(request, domain_id))


@dashboard_page
@require_GET
def domain_card(request: HttpRequest, domain_id: str) -> HttpResponse:
    """The pending card alone: the page's script swaps it in every few seconds until the
    domain is verified (the background checks move it; this only reads)."""
    domain = _domain(request, domain_id)
    context = _card_context(domain) | {"can_manage": has_org_permission(request, "domains.manage")}
    return render(request, "domains/_pending_domain_card.html", context)


@dashboard_page
@require_POST
def domain_verify(request: HttpRequest, domain_id: str) -> HttpResponse:
    require_permission(request, "domains.manage")
    domain = _domain(request, domain_id)
    outcome = sending_domain_verify(domain=domain, requested=True)
    if outcome.transient:
        messages.warning(request, outcome.message)
    elif outcome.domain.status == SendingDomain.Status.VERIFIED:
        messages.success(request, outcome.message)
    else:
        messages.info(request, outcome.message)
    return redirect("dashboard-domain", domain_id=domain.pk)


@dashboard_page
@require_POST
def domain_diagnose(request: HttpRequest, domain_id: str) -> HttpResponse:
    """Reads only (staff may too): each record through public DNS-over-HTTPS and the
    zone's own servers, shown on the domain's page."""
    domain = _domain(request, domain_id)
    refusal = diagnose_refusal(request)
    if refusal:
        messages.warning(request, refusal)
        return redirect("dashboard-domain", domain_id=domain.pk)
    return _detail(request, domain, diagnosis=sending_domain_diagnose(domain=domain))


def _domain_form_post(
    request: HttpRequest,
    domain_id: str,
    form_name: str,
    make_form: Callable[[], forms_module.Form],
    act: Callable[[SendingDomain, dict[str, Any]], str],
) -> HttpResponse:
    """An owner's form on the domain's page: valid and done (`act` returns what to tell
    the owner) goes back to the page; a refusal, shown next to its field, re-renders it."""
    require_permission(request, "domains.manage")
    domain = _domain(request, domain_id)
    form = make_form()
    done = submit_form(form, lambda data: act(domain, data))
    if done is None:
        return _detail(request, domain, forms={form_name: form}, status=400)
    messages.success(request, done)
    return redirect("dashboard-domain", domain_id=domain.pk)


@dashboard_page
@require_POST
def domain_warmup(request: HttpRequest, domain_id: str) -> HttpResponse:
    def act(domain: SendingDomain, data: dict[str, Any]) -> str:
        sending_domain_start_warmup(domain=domain, total_days=data["total_days"])
        return "Warmup started: daily caps apply from today."

    return _domain_form_post(
        request, domain_id, "warmup_form", lambda: WarmupForm(request.POST), act
    )


@dashboard_page
@require_POST
def domain_region(request: HttpRequest, domain_id: str) -> HttpResponse:
    def act(domain: SendingDomain, data: dict[str, Any]) -> str:
        sending_domain_set_region(
            domain=domain, region=data["region"], fallback_region=data["fallback_region"]
        )
        return "Region updated."

    return _domain_form_post(
        request, domain_id, "region_form", lambda: RegionForm(request.POST), act
    )


@dashboard_page
@require_POST
def domain_tenant(request: HttpRequest, domain_id: str) -> HttpResponse:
    def act(domain: SendingDomain, data: dict[str, Any]) -> str:
        tenant = data.get("tenant")
        sending_domain_set_tenant(domain=domain, tenant=tenant)
        return "Tenant bound." if tenant else "Tenant unbound."

    return _domain_form_post(
        request,
        domain_id,
        "tenant_form",
        lambda: TenantForm(request.POST, organization=request.organization),
        act,
    )


@dashboard_page
@require_POST
def domain_test_email(request: HttpRequest, domain_id: str) -> HttpResponse:
    def act(domain: SendingDomain, data: dict[str, Any]) -> str:
        # A refused address or message raises: shown next to the field or above the form.
        sending_domain_send_test_email(domain=domain, to=data["to"])
        return f"Test email sent to {data['to']}."

    return _domain_form_post(
        request, domain_id, "test_email_form", lambda: TestEmailForm(request.POST), act
    )


@dashboard_page
@require_http_methods(["GET", "POST"])
def domain_delete(request: HttpRequest, domain_id: str) -> HttpResponse:
    domain = _domain(request, domain_id)
    require_permission(request, "domains.manage")
    form = DeleteForm(request.POST or None, names=(domain.display_name, domain.name))
    if request.method == "POST" and form.is_valid():
        if sending_domain_delete(domain=domain, reason="deleted from the dashboard"):
            messages.success(request, f"{domain.display_name} removed.")
        else:
            messages.info(request, f"{domain.display_name} was already removed.")
        return redirect("dashboard-domains")
    return render(
        request,
        "domains/delete.html",
        {"domain": domain, "form": form},
        status=400 if form.errors else 200,
    )
