"""The base for API viewsets: one class of business logic, served on both surfaces.

    class TenantViewSet(OrganizationScopedViewSet): ...
    v1_router.register("tenants", for_surface(TenantViewSet, "v1"), basename="v1-tenant")
    internal_router.register("tenants", for_surface(TenantViewSet, "internal"), ...)

Every queryset is filtered to the caller's organization in `get_queryset()`, so another
organization's object is simply not there: a 404, never a 403."""

from typing import Literal, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts.authentication import ApiKeyAuthentication, SessionCsrfAuthentication
from accounts.permissions import IsOrganizationMember, resolve_organization

Surface = Literal["v1", "internal"]
V = TypeVar("V", bound=type[APIView])

SURFACE_AUTHENTICATION = {
    "v1": [ApiKeyAuthentication],
    "internal": [SessionCsrfAuthentication],
}


class OrganizationScopedViewSet(GenericViewSet):
    api_surface: Surface = "v1"
    permission_classes = [IsOrganizationMember]
    # The field that links a row to its organization.
    organization_field = "organization"

    def get_queryset(self) -> QuerySet[Model]:
        resolve_organization(self.request)
        queryset = super().get_queryset()
        return queryset.filter(**{self.organization_field: self.request.organization})


def for_surface(viewset: V, surface: Surface) -> V:
    """The view as served on one API surface: its authentication and its messages."""
    return type(
        f"{viewset.__name__}{surface.capitalize()}",
        (viewset,),
        {
            "api_surface": surface,
            "authentication_classes": SURFACE_AUTHENTICATION[surface],
            "__module__": viewset.__module__,
            "__doc__": viewset.__doc__,
        },
    )
