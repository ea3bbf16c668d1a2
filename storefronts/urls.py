from django.urls import path

from accounts.viewsets import for_surface
from storefronts.api import (
    PublicCatalogView,
    PublicOrderOtpView,
    PublicOrderView,
    PublicStorefrontView,
    StorefrontDomainClaimView,
    StorefrontDomainDiagnoseView,
    StorefrontDomainProbeView,
    StorefrontDomainStatusView,
    StorefrontDomainVerifyView,
    StorefrontSettingsView,
)
from storefronts.dashboard_views import (
    storefront_claim,
    storefront_diagnose_page,
    storefront_primary_host,
    storefront_probe_page,
    storefront_settings,
    storefront_verify,
)
from storefronts.views import tls_ask


def _store_routes(surface: str) -> list:
    return [
        path(
            "store/storefront",
            for_surface(StorefrontSettingsView, surface).as_view(),
            name=f"{surface}-store-storefront",
        ),
        path(
            "store/storefront/domain/verify",
            for_surface(StorefrontDomainVerifyView, surface).as_view(),
            name=f"{surface}-store-storefront-verify",
        ),
        path(
            "store/storefront/domain/claim",
            for_surface(StorefrontDomainClaimView, surface).as_view(),
            name=f"{surface}-store-storefront-claim",
        ),
        path(
            "store/storefront/domain/diagnose",
            for_surface(StorefrontDomainDiagnoseView, surface).as_view(),
            name=f"{surface}-store-storefront-diagnose",
        ),
        path(
            "store/storefront/domain",
            for_surface(StorefrontDomainStatusView, surface).as_view(),
            name=f"{surface}-store-storefront-domain",
        ),
        path(
            "store/storefront/domain/probe",
            for_surface(StorefrontDomainProbeView, surface).as_view(),
            name=f"{surface}-store-storefront-probe",
        ),
    ]


public_urls = [
    path("public/storefronts/<str:slug>", PublicStorefrontView.as_view(), name="public-storefront"),
    path(
        "public/storefronts/<str:slug>/catalog", PublicCatalogView.as_view(), name="public-catalog"
    ),
    path(
        "public/storefronts/<str:slug>/orders/otp",
        PublicOrderOtpView.as_view(),
        name="public-order-otp",
    ),
    path("public/storefronts/<str:slug>/orders", PublicOrderView.as_view(), name="public-orders"),
]

api_v1_urls = _store_routes("v1")  # the public ones are included on their own, first
api_internal_urls = _store_routes("internal")
tls_urls = [path("internal/tls/ask", tls_ask, name="tls-ask")]

# Dashboard pages (server-rendered, session sign-in) under /overview/.
dashboard_urls = [
    path("storefront", storefront_settings, name="dashboard-storefront"),
    path("storefront/verify", storefront_verify, name="dashboard-storefront-verify"),
    path("storefront/claim", storefront_claim, name="dashboard-storefront-claim"),
    path("storefront/diagnose", storefront_diagnose_page, name="dashboard-storefront-diagnose"),
    path("storefront/primary-host", storefront_primary_host, name="dashboard-storefront-primary"),
    path("storefront/probe", storefront_probe_page, name="dashboard-storefront-probe"),
]
