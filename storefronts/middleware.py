"""Requests for a store's own domain. `Host: mystore.com` on a verified, published
storefront serves that storefront's page and public API without the slug in the path;
nothing else of the product (admin, dashboard, internal API) is reachable there; unknown
hosts get a fast 404. Own hosts (ALLOWED_HOSTS) pass through untouched."""

from collections.abc import Callable

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponsePermanentRedirect,
)
from django.http.request import split_domain_port, validate_host

from dnscheck.names import DomainNameError
from storefronts.services import normalize_host, storefront_route_for_host

PUBLIC_API = "/api/v1/public/storefront"


def canonical_host() -> str:
    """Our own host name, for what Django builds after the rewrite (its host check):
    CANONICAL_HOST, else the first plain name in ALLOWED_HOSTS."""
    if settings.CANONICAL_HOST:
        return settings.CANONICAL_HOST
    for host in settings.ALLOWED_HOSTS:
        if host and not host.startswith(".") and host != "*":
            return host
    return "localhost"


class PermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    status_code = 308


class CustomDomainMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_host = request.META.get("HTTP_HOST", "")
        domain, port = split_domain_port(raw_host)
        if not raw_host or (domain and validate_host(domain, settings.ALLOWED_HOSTS)):
            return self.get_response(request)
        try:  # any spelling of a store's domain: MyStore.COM., mystore.com:443, punycode
            host = normalize_host(raw_host).ascii
        except DomainNameError:
            return HttpResponseNotFound("Unknown host.")
        route = storefront_route_for_host(host)
        if route is None:
            return HttpResponseNotFound("Unknown host.")
        slug, primary = route
        secure = request.is_secure()
        if host != primary or (settings.SECURE_SSL_REDIRECT and not secure):
            # The store's own address, not ours (Django's redirect would use the canonical
            # host): its primary name (the `www` pair's other name redirects there), over
            # HTTPS where we serve it so. A form post keeps its method (308).
            scheme = "https" if secure or settings.SECURE_SSL_REDIRECT else "http"
            netloc = f"{primary}:{port}" if port and scheme == request.scheme else primary
            redirect = (
                HttpResponsePermanentRedirect
                if request.method in ("GET", "HEAD")
                else PermanentRedirectKeepingMethod
            )
            return redirect(f"{scheme}://{netloc}{request.get_full_path()}")
        path = request.path_info
        if path in ("", "/"):
            rewritten = f"/s/{slug}/"
        elif path == PUBLIC_API or path.startswith(PUBLIC_API + "/"):
            rewritten = f"/api/v1/public/storefronts/{slug}{path[len(PUBLIC_API) :]}"
        elif path.startswith(
            settings.STATIC_URL
            if settings.STATIC_URL.startswith("/")
            else "/" + settings.STATIC_URL
        ):
            rewritten = path
        else:
            return HttpResponseNotFound("Not found.")
        request.path_info = rewritten
        request.path = rewritten
        request.META["HTTP_X_STOREFRONT_HOST"] = host
        request.META["HTTP_HOST"] = canonical_host()
        request.storefront_host = host
        response = self.get_response(request)
        # Our HSTS policy (subdomains, preload) is ours to set, not for a customer's domain.
        del response["Strict-Transport-Security"]
        return response
