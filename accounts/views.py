"""Dashboard pages of the accounts app: the organization switcher."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.dashboard import safe_next
from accounts.permissions import SESSION_ORGANIZATION_KEY
from accounts.selectors import membership_for
from accounts.services import organization_switch


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
