"""Dashboard pages for sending domains: the list with its add form, and each domain's page
with the pending card (records, copy buttons, hints, verify and diagnose), warmup, region,
tenant, a test email and delete. Owner-only actions are refused here on the server, not
only hidden in the template."""

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.dashboard import dashboard_page, require_permission, show_service_error
from config.errors import ServiceError
from domains.forms import AddDomainForm
from domains.models import DomainRecord, SendingDomain
from domains.selectors import sending_domains_for
from domains.services import sending_domain_create


@dashboard_page
@require_http_methods(["GET", "POST"])
def domain_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = AddDomainForm(organization=organization)
    if request.method == "POST":
        require_permission(request, "domains.manage")
        form = AddDomainForm(request.POST, organization=organization)
        if form.is_valid():
            tenant_id = form.cleaned_data.get("tenant") or None
            try:
                domain = sending_domain_create(
                    organization=organization,
                    name=form.cleaned_data["domain"],
                    tenant=organization.tenants.filter(pk=tenant_id).first() if tenant_id else None,
                    name_field="domain",
                )
            except ServiceError as exc:
                show_service_error(form, exc)
            else:
                messages.success(request, f"{domain.display_name} added. Publish its records.")
                return redirect("dashboard-domain", domain_id=domain.pk)
    domains = (
        sending_domains_for(organization=organization)
        .annotate(
            total_records=Count("records"),
            verified_records=Count(
                "records", filter=Q(records__status=DomainRecord.Status.VERIFIED)
            ),
        )
        .order_by("-created_at")
    )
    return render(
        request,
        "domains/list.html",
        {"domains": domains, "form": form, "statuses": SendingDomain.Status},
        status=400 if form.errors else 200,
    )
