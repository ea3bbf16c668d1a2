from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_ssl_redirect_behind_proxy(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Behind a proxy that terminates TLS, Django sees plain HTTP unless it may trust
    X-Forwarded-Proto; with SSL redirect on, every request would redirect to itself."""
    if settings.SECURE_SSL_REDIRECT and settings.TRUSTED_PROXY_HOPS == 0:
        return [
            Warning(
                "SECURE_SSL_REDIRECT is on but TRUSTED_PROXY_HOPS is 0.",
                hint=(
                    "Behind a TLS-terminating proxy (Caddy, a load balancer) set "
                    "TRUSTED_PROXY_HOPS to the number of proxies; without a proxy, serve TLS "
                    "in front of gunicorn or set SECURE_SSL_REDIRECT=false."
                ),
                id="domainkeeper.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_webhook_targets_are_guarded(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return [
            Warning(
                "WEBHOOK_ALLOW_PRIVATE_TARGETS is on: webhooks may be sent over plain HTTP "
                "and to private addresses (server-side request forgery).",
                hint="It is for tests and local development; unset it in production.",
                id="domainkeeper.W002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_hosts_for_store_domains(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Store domains are routed only for hosts that are not our own: a wildcard in
    ALLOWED_HOSTS would serve the whole product (admin included) on them."""
    if "*" in settings.ALLOWED_HOSTS:
        return [
            Warning(
                "ALLOWED_HOSTS contains '*': every store domain would reach the admin and "
                "the dashboard.",
                hint="List our own hosts only; store domains are admitted once verified.",
                id="domainkeeper.W003",
            )
        ]
    plain = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".")]
    if not settings.CANONICAL_HOST and not plain:
        return [
            Warning(
                "No plain host in ALLOWED_HOSTS and no CANONICAL_HOST: requests for store "
                "domains cannot be handled.",
                hint="Set CANONICAL_HOST to our own host name.",
                id="domainkeeper.W004",
            )
        ]
    return []
