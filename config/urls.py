from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.urls import api_internal_urls as accounts_internal
from accounts.urls import api_v1_urls as accounts_v1
from accounts.urls import dashboard_urls as accounts_dashboard
from accounts.views import home
from audit.urls import api_internal_urls as audit_internal
from audit.urls import api_v1_urls as audit_v1
from audit.urls import dashboard_urls as audit_dashboard
from config.cron import run_job
from config.views import health
from domains.urls import api_internal_urls as domains_internal
from domains.urls import api_v1_urls as domains_v1
from domains.urls import dashboard_urls as domains_dashboard
from storefronts.urls import api_internal_urls as storefronts_internal
from storefronts.urls import api_v1_urls as storefronts_v1
from storefronts.urls import dashboard_urls as storefronts_dashboard
from storefronts.urls import public_urls as storefronts_public
from storefronts.urls import tls_urls
from storefronts.views import storefront_page
from webhooks.urls import api_internal_urls as webhooks_internal
from webhooks.urls import api_v1_urls as webhooks_v1
from webhooks.urls import dashboard_urls as webhooks_dashboard

handler400 = "config.envelope.api_aware_400"
handler404 = "config.envelope.api_aware_404"
handler500 = "config.envelope.api_aware_500"

urlpatterns = [
    # First, as they are the hottest: every visit to a store and every new TLS connection.
    path("api/v1/", include(storefronts_public)),
    *tls_urls,
    path("", home, name="home"),
    path("healthz", health, name="health"),
    path("api/cron/<slug:job>", run_job, name="cron"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("overview/", include(accounts_dashboard)),
    path("overview/", include(domains_dashboard)),
    path("overview/", include(storefronts_dashboard)),
    path("overview/", include(webhooks_dashboard)),
    path("overview/", include(audit_dashboard)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(accounts_v1)),
    path("api/v1/", include(audit_v1)),
    path("api/v1/", include(webhooks_v1)),
    path("api/v1/", include(domains_v1)),
    path("api/v1/", include(storefronts_v1)),
    path("api/internal/", include(accounts_internal)),
    path("api/internal/", include(audit_internal)),
    path("api/internal/", include(webhooks_internal)),
    path("api/internal/", include(domains_internal)),
    path("api/internal/", include(storefronts_internal)),
    path("s/<slug:slug>/", storefront_page, name="storefront-page"),
]
