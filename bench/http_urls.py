"""The product's URLs plus the two comparison points bench/http_load.py needs, which the product
itself does not serve: the cheapest Django response (the baseline) and `GET /api/v1/domains`
with authentication switched off, acting for the bench's organization."""

from functools import cache

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from accounts.models import Membership, Organization
from accounts.viewsets import for_surface
from config.urls import handler400, handler404, handler500  # noqa: F401 - the same errors
from config.urls import urlpatterns as product_urls
from domains.api import SendingDomainViewSet

BENCH_ORGANIZATION = "Bench HTTP"


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


@cache
def _organization() -> Organization:
    return Organization.objects.get(name=BENCH_ORGANIZATION)


class UnauthenticatedDomains(for_surface(SendingDomainViewSet, "v1")):
    """The same list with no authentication: the organization is known up front (read once
    per process), so what differs from the real route is the API key's authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        request.organization = _organization()
        request.organization_role = Membership.Role.OWNER
        super().initial(request, *args, **kwargs)


urlpatterns = [
    path("bench/trivial", trivial),
    path("bench/domains", UnauthenticatedDomains.as_view({"get": "list"})),
    *product_urls,
]
