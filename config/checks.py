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
