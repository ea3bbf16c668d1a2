"""The audit log in the dashboard: filters as a GET form, pages of events, and the same
CSV export as the API. Owners only, as in the API: the log shows who did what, from
which address, and staff are refused on the server (the API refuses them too)."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.dashboard import dashboard_page, require_permission
from audit.export import csv_response
from audit.forms import AuditFilterForm
from audit.models import AuditEvent
from audit.selectors import audit_events_for

READ_PERMISSION = "organization.manage"
EVENTS_PER_PAGE = 50


def _page(request: HttpRequest, form: AuditFilterForm) -> HttpResponse:
    organization = request.organization
    events = AuditEvent.objects.none()
    if form.is_valid():
        events = audit_events_for(organization=organization, filters=form.filters())
    page = Paginator(events.order_by("-sequence"), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    actions = (
        AuditEvent.objects.filter(organization=organization)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "page": page,
            "actions": actions,
            "filtered": form.is_valid() and bool(form.filters()),
        },
        status=400 if form.errors else 200,
    )


@dashboard_page
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    require_permission(request, READ_PERMISSION)
    return _page(request, AuditFilterForm(request.GET, organization=request.organization))


@dashboard_page
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Every event the filters match, streamed as CSV; filters that do not parse show the
    page with their errors instead of an empty file."""
    require_permission(request, READ_PERMISSION)
    form = AuditFilterForm(request.GET, organization=request.organization)
    if not form.is_valid():
        return _page(request, form)
    events = audit_events_for(organization=request.organization, filters=form.filters())
    return csv_response(events.order_by("-sequence"), request.organization.pk)
