from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.viewsets import for_surface
from domains import views
from domains.api import SendingDomainViewSet
from domains.emails_api import EmailViewSet

v1_router = SimpleRouter(trailing_slash=False)
v1_router.register("domains", for_surface(SendingDomainViewSet, "v1"), basename="v1-domain")
v1_router.register("emails", for_surface(EmailViewSet, "v1"), basename="v1-email")
internal_emails = for_surface(EmailViewSet, "internal")

internal_viewset = for_surface(SendingDomainViewSet, "internal")
internal_router = SimpleRouter(trailing_slash=False)
internal_router.register("domains", internal_viewset, basename="internal-domain")

api_v1_urls = v1_router.urls
api_internal_urls = [
    # The dashboard contract: re-check with PATCH {id}, delete with ?id=, on the collection.
    path(
        "domains",
        internal_viewset.as_view(
            {
                "get": "list",
                "post": "create",
                "patch": "recheck_from_body",
                "delete": "destroy_from_query",
            }
        ),
        name="internal-domain-collection",
    ),
    *internal_router.urls,
    # The dashboard reads the message log; it sends only test emails (per domain).
    path("emails", internal_emails.as_view({"get": "list"}), name="internal-email-list"),
    path(
        "emails/<str:pk>",
        internal_emails.as_view({"get": "retrieve"}),
        name="internal-email-detail",
    ),
]

# Dashboard pages (server-rendered, session sign-in) under /overview/.
dashboard_urls = [
    path("domains", views.domain_list, name="dashboard-domains"),
    path("domains/<str:domain_id>", views.domain_detail, name="dashboard-domain"),
    path("domains/<str:domain_id>/card", views.domain_card, name="dashboard-domain-card"),
    path("domains/<str:domain_id>/verify", views.domain_verify, name="dashboard-domain-verify"),
    path(
        "domains/<str:domain_id>/diagnose", views.domain_diagnose, name="dashboard-domain-diagnose"
    ),
    path("domains/<str:domain_id>/warmup", views.domain_warmup, name="dashboard-domain-warmup"),
    path("domains/<str:domain_id>/region", views.domain_region, name="dashboard-domain-region"),
    path("domains/<str:domain_id>/tenant", views.domain_tenant, name="dashboard-domain-tenant"),
    path(
        "domains/<str:domain_id>/test-email",
        views.domain_test_email,
        name="dashboard-domain-test-email",
    ),
    path("domains/<str:domain_id>/delete", views.domain_delete, name="dashboard-domain-delete"),
]
