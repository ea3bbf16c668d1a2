"""The dashboard's storefront page: settings (slug, published, custom domain), the two DNS
records to publish, verify and diagnose, the domain's live status (check now), and claiming
a domain another store holds. The same services and permissions as the API's
`/store/storefront` endpoints; owner-only actions are refused here, not only hidden."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.dashboard import (
    View,
    dashboard_page,
    diagnose_refusal,
    require_permission,
    submit_form,
)
from accounts.permissions import has_org_permission
from config.errors import NotFoundError, ServiceError
from dnscheck.names import to_display
from dnscheck.records import ExpectedRecord
from storefronts.forms import PrimaryHostForm, StorefrontClaimForm, StorefrontSettingsForm
from storefronts.live import LIVE_RETRY_EVERY, live_fix, storefront_live_probe
from storefronts.models import Storefront
from storefronts.selectors import storefront_for_request
from storefronts.services import (
    CustomDomainTaken,
    DnsUnavailable,
    StorefrontDiagnosis,
    custom_domain_target,
    ownership_record,
    routing_records,
    storefront_claim_domain,
    storefront_diagnose,
    storefront_domain_rival,
    storefront_ensure_token,
    storefront_set_primary_host,
    storefront_update,
    storefront_verify_domain,
)

MANAGE = "store.storefront.manage"
VIEW = "store.storefront.view"


def _storefront(request: HttpRequest) -> Storefront | None:
    try:
        return storefront_for_request(request)
    except NotFoundError:
        return None


def _settings_form(storefront: Storefront) -> StorefrontSettingsForm:
    return StorefrontSettingsForm(
        initial={
            "slug": storefront.slug,
            "published": storefront.published,
            "custom_domain": storefront.custom_domain or "",
        }
    )


def _records(storefront: Storefront) -> tuple[list[ExpectedRecord], str]:
    """The routing and ownership records as the services define them, and why the routing
    record is missing if a stored domain no longer validates."""
    if not storefront.custom_domain:
        return [], ""
    try:
        routing = routing_records(storefront)
    except ServiceError as exc:
        return [ownership_record(storefront)], exc.message
    return [*routing, ownership_record(storefront)], ""


def _page(
    request: HttpRequest,
    storefront: Storefront | None,
    *,
    form: StorefrontSettingsForm | None = None,
    primary_form: PrimaryHostForm | None = None,
    verify_error: ServiceError | None = None,
    diagnosis: StorefrontDiagnosis | None = None,
    diagnose_error: str = "",
    claim_form: StorefrontClaimForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "storefront": storefront,
        "can_manage": has_org_permission(request, MANAGE),
    }
    if storefront is not None:
        records, records_error = _records(storefront)
        if form is None and context["can_manage"]:
            form = _settings_form(storefront)
        if primary_form is None and context["can_manage"] and storefront.custom_domain_pair:
            primary_form = PrimaryHostForm(storefront, initial={"host": storefront.primary_host})
        context.update(
            form=form,
            primary_form=primary_form,
            records=records,
            records_error=records_error,
            target=custom_domain_target(),
            verify_error=verify_error,
            diagnosis=diagnosis,
            diagnose_error=diagnose_error,
            live_fix=live_fix(storefront),
            live_retry_minutes=int(LIVE_RETRY_EVERY.total_seconds() // 60),
            claim_form=claim_form,
            rival=storefront_domain_rival(storefront=storefront),
        )
    return render(request, "storefronts/settings.html", context, status=status)


StorefrontAction = Callable[[HttpRequest, Storefront], HttpResponse]
T = TypeVar("T")


def _storefront_post(permission: str) -> Callable[[StorefrontAction], View]:
    """A POST from the storefront page: refused (403, audited) without `permission`; with
    no storefront to act on, back to the page; else `action` with the storefront."""

    def decorate(action: StorefrontAction) -> View:
        @wraps(action)
        def view(request: HttpRequest) -> HttpResponse:
            require_permission(request, permission)
            storefront = _storefront(request)
            if storefront is None:
                return redirect("dashboard-storefront")
            return action(request, storefront)

        return view

    return decorate


def _form_post(
    request: HttpRequest,
    storefront: Storefront,
    form_name: str,
    form: forms.Form,
    act: Callable[[dict[str, Any]], str],
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """A form on the storefront page: done (`act` returns what to tell the person) goes
    back to the page; invalid or refused re-renders it (400) with `context`, which `act`
    may have filled in meanwhile."""
    done = submit_form(form, act)
    if done is not None:
        messages.success(request, done)
        return redirect("dashboard-storefront")
    storefront.refresh_from_db()  # the page shows what is saved, beside what was typed
    return _page(request, storefront, status=400, **{form_name: form}, **(context or {}))


def _budgeted(
    request: HttpRequest,
    storefront: Storefront,
    service: Callable[[], T],
    answer: Callable[[T], HttpResponse],
) -> HttpResponse:
    """Diagnose and "check now" spend the API's per-organization diagnose budget; its
    refusal, or the service's, is shown on the page."""
    refusal = diagnose_refusal(request)
    if refusal:
        return _page(request, storefront, diagnose_error=refusal, status=429)
    try:
        result = service()
    except ServiceError as exc:
        return _page(request, storefront, diagnose_error=exc.message, status=exc.status)
    return answer(result)


@dashboard_page
@require_http_methods(["GET", "POST"])
def storefront_settings(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        require_permission(request, MANAGE)
    storefront = _storefront(request)
    if storefront is None:
        return _page(request, None, status=404 if request.method == "POST" else 200)
    if request.method == "GET":
        # As the API's GET: a domain stored before tokens existed gets one now.
        return _page(request, storefront_ensure_token(storefront=storefront))

    offer: dict[str, Any] = {}

    def act(data: dict[str, Any]) -> str:
        try:
            storefront_update(
                storefront=storefront,
                slug=data["slug"],
                published=data["published"],
                custom_domain=data["custom_domain"] or None,
            )
        except CustomDomainTaken:  # offer the claim, beside the refusal
            domain = data["custom_domain"]
            offer["claim_form"] = StorefrontClaimForm(initial={"custom_domain": domain})
            raise
        return "Storefront settings updated."

    form = StorefrontSettingsForm(request.POST)
    return _form_post(request, storefront, "form", form, act, offer)


@dashboard_page
@require_POST
@_storefront_post(MANAGE)
def storefront_claim(request: HttpRequest, storefront: Storefront) -> HttpResponse:
    """ "Claim this domain": set it although another store holds it; verify then takes it
    over only by proof (the same service as the API's claim)."""

    def act(data: dict[str, Any]) -> str:
        domain = data["custom_domain"]
        return storefront_claim_domain(storefront=storefront, custom_domain=domain).message

    form = StorefrontClaimForm(request.POST)
    return _form_post(request, storefront, "claim_form", form, act)


@dashboard_page
@require_POST
@_storefront_post(MANAGE)
def storefront_verify(request: HttpRequest, storefront: Storefront) -> HttpResponse:
    try:
        storefront_verify_domain(storefront=storefront)
    except ServiceError as exc:
        storefront.refresh_from_db()
        return _page(request, storefront, verify_error=exc, status=exc.status)
    messages.success(request, "Custom domain verified successfully.")
    return redirect("dashboard-storefront")


@dashboard_page
@require_POST
@_storefront_post(VIEW)
def storefront_diagnose_page(request: HttpRequest, storefront: Storefront) -> HttpResponse:
    """A read-only look at DNS: any member may run it, as through the API, and its cost
    counts against the same per-organization budget."""
    return _budgeted(
        request,
        storefront,
        lambda: storefront_diagnose(storefront=storefront),
        lambda diagnosis: _page(request, storefront, diagnosis=diagnosis),
    )


@dashboard_page
@require_POST
@_storefront_post(MANAGE)
def storefront_primary_host(request: HttpRequest, storefront: Storefront) -> HttpResponse:
    """Which of a paired domain's two names the store is served at."""

    def act(data: dict[str, Any]) -> str:
        saved = storefront_set_primary_host(storefront=storefront, host=data["host"])
        other = next(h for h in saved.custom_domain_hosts if h != saved.primary_host)
        return f"Served at {to_display(saved.primary_host)}; {to_display(other)} redirects there."

    form = PrimaryHostForm(storefront, request.POST)
    return _form_post(request, storefront, "primary_form", form, act)


@dashboard_page
@require_POST
@_storefront_post(MANAGE)
def storefront_probe_page(request: HttpRequest, storefront: Storefront) -> HttpResponse:
    """ "Check now" for the live status: owners only, as through the API, and from the same
    per-organization budget as diagnose."""

    def answer(outcome: str) -> HttpResponse:
        if outcome == "transient":
            messages.warning(request, DnsUnavailable.message)
        else:
            messages.success(request, "Live status checked.")
        return redirect("dashboard-storefront")

    return _budgeted(
        request, storefront, lambda: storefront_live_probe(storefront=storefront), answer
    )
