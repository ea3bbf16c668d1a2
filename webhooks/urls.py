from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.viewsets import for_surface
from webhooks import views
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
dashboard_urls = [
    path("webhooks", views.endpoint_list, name="dashboard-webhooks"),
    path("webhooks/<str:endpoint_id>", views.endpoint_detail, name="dashboard-webhook"),
    path(
        "webhooks/<str:endpoint_id>/rotate-secret",
        views.endpoint_rotate,
        name="dashboard-webhook-rotate",
    ),
    path(
        "webhooks/<str:endpoint_id>/enable",
        views.endpoint_enable_view,
        name="dashboard-webhook-enable",
    ),
    path(
        "webhooks/<str:endpoint_id>/disable",
        views.endpoint_disable_view,
        name="dashboard-webhook-disable",
    ),
    path("webhooks/<str:endpoint_id>/test", views.endpoint_test, name="dashboard-webhook-test"),
    path(
        "webhooks/<str:endpoint_id>/recover",
        views.endpoint_recover_view,
        name="dashboard-webhook-recover",
    ),
    path(
        "webhooks/<str:endpoint_id>/delete",
        views.endpoint_delete_view,
        name="dashboard-webhook-delete",
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>",
        views.delivery_detail,
        name="dashboard-webhook-delivery",
    ),
    path(
        "webhooks/<str:endpoint_id>/deliveries/<str:delivery_id>/resend",
        views.delivery_resend_view,
        name="dashboard-webhook-resend",
    ),
]
