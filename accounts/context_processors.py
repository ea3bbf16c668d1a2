"""The dashboard layout's own context: the organization switcher and the caller's role."""

from typing import Any

from django.http import HttpRequest

from accounts.models import Membership
from accounts.selectors import memberships_for_user


def dashboard(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Callables: the template asks for them only on pages that show the switcher.
    return {
        "nav_memberships": lambda: list(memberships_for_user(user=user)),
        "current_organization": getattr(request, "organization", None),
        "is_owner": getattr(request, "organization_role", None) == Membership.Role.OWNER,
    }
