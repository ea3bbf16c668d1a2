from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.viewsets import for_surface
from webhooks.api import (
    EventTypesView,
    WebhookDeliveryViewSet,
    WebhookEndpointViewSet,
    WebhookEventViewSet,
)


def _routes(surface: str) -> list:
    router = SimpleRouter(trailing_slash=False)
    router.register(
        "webhook-endpoints",
        for_surface(WebhookEndpointViewSet, surface),
        basename=f"{surface}-webhook-endpoint",
    )
    router.register(
        "webhook-deliveries",
        for_surface(WebhookDeliveryViewSet, surface),
        basename=f"{surface}-webhook-delivery",
    )
    router.register(
        "events", for_surface(WebhookEventViewSet, surface), basename=f"{surface}-event"
    )
    return [
        path(
            "event-types",
            for_surface(EventTypesView, surface).as_view(),
            name=f"{surface}-event-types",
        ),
        *router.urls,
    ]


api_v1_urls = _routes("v1")
api_internal_urls = _routes("internal")

# Dashboard pages (server-rendered, session sign-in) under /overview/.
dashboard_urls: list = []
