from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from accounts.authentication import ApiKeyPrincipal

if TYPE_CHECKING:  # DRF loads these classes while rest_framework.views is importing
    from rest_framework.views import APIView


class PrincipalRateThrottle(SimpleRateThrottle):
    """One budget per API key, per signed-in user, or per client address otherwise. The
    rate is read at each request (`API_RATE_LIMIT`), and counted in the shared cache."""

    scope = "principal"

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            ident = f"key:{user.api_key.pk}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return f"throttle_{self.scope}_{ident}"


class OrganizationRateThrottle(SimpleRateThrottle):
    """One budget per organization for an expensive action; subclasses name the scope
    (its rate comes from DEFAULT_THROTTLE_RATES, read at each request)."""

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return f"throttle_{self.scope}_{request.organization.pk}"


class DiagnoseThrottle(OrganizationRateThrottle):
    """Diagnose asks many DNS questions (DIAGNOSE_RATE_LIMIT per organization)."""

    scope = "diagnose"
