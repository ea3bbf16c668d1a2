import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from config.errors import NotFoundError
from dnscheck.names import DomainNameError
from storefronts.services import normalize_host, storefront_public, storefront_slug_for_host

logger = logging.getLogger(__name__)


@require_GET
def tls_ask(request: HttpRequest) -> HttpResponse:
    """Caddy's on-demand TLS `ask`: 200 only for a verified, published storefront domain,
    so certificates are issued for nothing else. Cached with the host lookups; any failure
    answers no (fails closed)."""
    raw = request.GET.get("domain", "")
    try:
        name = normalize_host(raw).ascii
    except DomainNameError as exc:
        return JsonResponse({"allowed": False, "reason": exc.code}, status=400)
    try:
        allowed = storefront_slug_for_host(name) is not None
    except Exception:  # the database is down, say: no certificate, ever, by accident
        logger.exception("TLS ask for %s failed; answering no", name)
        return JsonResponse({"allowed": False, "reason": "UNAVAILABLE"}, status=503)
    return JsonResponse({"allowed": allowed}, status=200 if allowed else 404)


@require_GET
def storefront_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The storefront's public page (at `/` on its own domain)."""
    try:
        storefront = storefront_public(slug)
    except NotFoundError:
        return render(request, "storefronts/not_found.html", status=404)
    products = storefront.products.filter(active=True)
    return render(
        request, "storefronts/page.html", {"storefront": storefront, "products": products}
    )
