from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import (
    ApiKeyViewSet,
    CurrentOrganizationView,
    MyOrganizationsView,
    TenantViewSet,
    WhoAmIView,
)
from accounts.views import api_key_list, api_key_revoke_view, organization_switch_view
from accounts.viewsets import for_surface

v1_router = SimpleRouter(trailing_slash=False)
v1_router.register("tenants", for_surface(TenantViewSet, "v1"), basename="v1-tenant")

internal_router = SimpleRouter(trailing_slash=False)
internal_router.register(
    "tenants", for_surface(TenantViewSet, "internal"), basename="internal-tenant"
)
internal_router.register(
    "api-keys", for_surface(ApiKeyViewSet, "internal"), basename="internal-api-key"
)

api_v1_urls = [
    path("organization", for_surface(WhoAmIView, "v1").as_view(), name="v1-organization"),
    *v1_router.urls,
]

api_internal_urls = [
    path(
        "organizations",
        for_surface(MyOrganizationsView, "internal").as_view(),
        name="internal-organizations",
    ),
    path(
        "organizations/current",
        for_surface(CurrentOrganizationView, "internal").as_view(),
        name="internal-organization-current",
    ),
    *internal_router.urls,
]

# Dashboard pages (server-rendered, session sign-in) under /overview/.
dashboard_urls = [
    path(
        "organization",
        organization_switch_view,
        name="dashboard-organization-switch",
    ),
    path("api-keys", api_key_list, name="dashboard-api-keys"),
    path("api-keys/<str:key_id>/revoke", api_key_revoke_view, name="dashboard-api-key-revoke"),
]
