"""What every dashboard page shares: a signed-in user, the organization the page acts in (the
same one the internal API uses, kept in the session), the role check that the server
enforces (a hidden button is not a permission), and a service's refusal shown next to the
field it concerns.

    @dashboard_page
    def domain_list(request): ...            # request.organization is set

    require_permission(request, "domains.manage")   # 403 page and an audit event if not
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework import exceptions as drf_exceptions

from accounts.permissions import has_org_permission, record_denial, resolve_organization
from accounts.throttling import DiagnoseThrottle
from config.errors import ServiceError

View = Callable[..., HttpResponse]
T = TypeVar("T")


def dashboard_page(view: View) -> View:
    """Signs the user in if needed and sets `request.organization` and
    `request.organization_role`; a user in no organization gets a page that says so."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if is_fragment_request(request):
                # The page's script must not swap a sign-in page in for a fragment.
                return HttpResponse("Signed out: reload the page.", status=401)
            return redirect_to_login(request.get_full_path())
        try:
            resolve_organization(request)
        except drf_exceptions.PermissionDenied:
            return render(request, "dashboard/no_organization.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def require_permission(request: HttpRequest, permission: str) -> None:
    """Refuses (403, audited) a member whose role lacks `permission`."""
    if not has_org_permission(request, permission):
        record_denial(request, permission)
        raise PermissionDenied("Your role in this organization does not allow this action.")


def show_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Puts a service's refusal on the form: each field error next to its field (the API's
    field names may differ from the form's: `aliases` maps them), the rest above the form."""
    aliases: dict[str, str] = getattr(form, "error_aliases", {})
    elsewhere: list[str] = []  # about fields this form does not have
    placed = False
    for field, messages in exc.errors.items():
        name = aliases.get(field, field)
        if name in form.fields:
            for message in messages:
                form.add_error(name, message)
                placed = True
        else:
            elsewhere += messages
    if not placed:
        form.add_error(None, exc.dashboard_message)
    else:
        for message in elsewhere:
            form.add_error(None, message)


def submit_form(form: forms.Form, act: Callable[[dict[str, Any]], T]) -> T | None:
    """Runs `act` (a service call) on a valid form's data and returns what it returns (what
    to tell the person, or what it made); None if the form is invalid or the service
    refused, its errors then on the form for the page to show again."""
    if not form.is_valid():
        return None
    try:
        return act(form.cleaned_data)
    except ServiceError as exc:
        show_service_error(form, exc)
        return None


def shown_once(response: HttpResponse) -> HttpResponse:
    """A page that shows a secret must not be kept by the browser or a proxy, so Back and
    the cache cannot show it again."""
    response["Cache-Control"] = "no-store"
    return response


def diagnose_refusal(request: HttpRequest) -> str | None:
    """Diagnose from a page spends the API's per-organization budget: None while it
    lasts, otherwise what to tell the person."""
    throttle = DiagnoseThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = int(throttle.wait() or 60)
    return f"Diagnose ran many times in the last minute; try again in {wait} seconds."


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` the form carried, if it stays on this site."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return fallback


def is_fragment_request(request: HttpRequest) -> bool:
    """The page's own script asking for a fragment to swap in (the card refresh)."""
    return request.headers.get("X-Requested-With") == "fetch"
