from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.viewsets import for_surface
from audit import views
from audit.api import AuditEventViewSet

v1_router = SimpleRouter(trailing_slash=False)
v1_router.register("audit-events", for_surface(AuditEventViewSet, "v1"), basename="v1-audit-event")
internal_router = SimpleRouter(trailing_slash=False)
internal_router.register(
    "audit-events", for_surface(AuditEventViewSet, "internal"), basename="internal-audit-event"
)

api_v1_urls = v1_router.urls
api_internal_urls = internal_router.urls

# Dashboard pages (server-rendered, session sign-in) under /overview/.
dashboard_urls = [
    path("audit", views.audit_list, name="dashboard-audit"),
    path("audit.csv", views.audit_export, name="dashboard-audit-export"),
]
