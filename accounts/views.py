"""Dashboard pages of the accounts app: the organization switcher, and API keys (a new
key is shown once, in the response to the POST that made it; owners only, as in the API,
checked here on the server)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.dashboard import dashboard_page, require_permission, safe_next, shown_once
from accounts.forms import ApiKeyForm
from accounts.permissions import SESSION_ORGANIZATION_KEY
from accounts.selectors import api_keys_for, membership_for
from accounts.services import IssuedApiKey, api_key_create, api_key_revoke, organization_switch

# API keys act with the owner's permissions: only owners see or manage them.
API_KEYS_PERMISSION = "organization.manage"


class SwitchOrganizationForm(forms.Form):
    organization_id = forms.CharField(max_length=64)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard's front door: domains for a signed-in user, the sign-in page otherwise."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={reverse('dashboard-domains')}")
    return redirect("dashboard-domains")


@login_required
@require_POST
def organization_switch_view(request: HttpRequest) -> HttpResponse:
    form = SwitchOrganizationForm(request.POST)
    membership = None
    if form.is_valid():
        membership = membership_for(
            user=request.user, organization_id=form.cleaned_data["organization_id"]
        )
    if membership is None:
        # Not one of the user's organizations: the same answer as a typo, nothing changes.
        messages.error(request, "That organization is not one of yours.")
        return redirect(safe_next(request, reverse("dashboard-domains")))
    request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    organization_switch(user=request.user, membership=membership)
    messages.success(request, f"Now working in {membership.organization.name}.")
    # The page the user was on belonged to the old organization: start from the overview.
    return redirect("dashboard-domains")


@dashboard_page
@require_http_methods(["GET", "POST"])
def api_key_list(request: HttpRequest) -> HttpResponse:
    require_permission(request, API_KEYS_PERMISSION)
    form = ApiKeyForm()
    issued: IssuedApiKey | None = None
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            issued = api_key_create(
                organization=request.organization,
                name=form.cleaned_data["name"],
                created_by=request.user,
            )
            form = ApiKeyForm()
    response = render(
        request,
        "accounts/api_keys.html",
        {
            "api_keys": api_keys_for(organization=request.organization).order_by("-created_at"),
            "form": form,
            "issued": issued,
        },
        status=400 if form.errors else 200,
    )
    # The raw key is in this page only: no browser or proxy cache may keep it.
    return shown_once(response) if issued is not None else response


@dashboard_page
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    require_permission(request, API_KEYS_PERMISSION)
    api_key = get_object_or_404(api_keys_for(organization=request.organization), pk=key_id)
    already = not api_key.is_active
    api_key_revoke(api_key=api_key)
    if already:
        messages.info(request, f"{api_key.name} ({api_key.prefix}) was already revoked.")
    else:
        messages.success(
            request, f"{api_key.name} ({api_key.prefix}) revoked. Requests with it now get 401."
        )
    return redirect("dashboard-api-keys")
