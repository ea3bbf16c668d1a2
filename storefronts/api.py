"""The storefront contract's endpoints: settings and the custom domain (authenticated),
and the public storefront, catalog and orders (no authentication)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.permissions import StorefrontManage, StorefrontView
from accounts.throttling import DiagnoseThrottle, PrincipalRateThrottle
from config.envelope import respond
from config.errors import NotFoundError
from config.negotiation import ANYTHING
from config.serializers import StrictInputSerializer
from dnscheck.records import ExpectedRecord
from storefronts.live import live_fix, storefront_live_probe
from storefronts.models import Product, Storefront
from storefronts.selectors import storefront_for_request
from storefronts.services import (
    CustomDomainTaken,
    DnsUnavailable,
    custom_domain_target,
    order_otp_request,
    order_place,
    record_result_data,
    storefront_claim_domain,
    storefront_diagnose,
    storefront_ensure_token,
    storefront_public,
    storefront_public_card,
    storefront_set_primary_host,
    storefront_update,
    storefront_verify_domain,
)


def domain_data(storefront: Storefront) -> dict[str, Any]:
    return {
        "customDomain": storefront.custom_domain,
        "customDomainVerified": storefront.custom_domain_verified,
        "customDomainVerificationToken": storefront.custom_domain_verification_token,
        "customDomainTarget": custom_domain_target(),
    }


def settings_data(storefront: Storefront) -> dict[str, Any]:
    return {
        "id": str(storefront.pk),
        "slug": storefront.slug,
        "title": storefront.title,
        "description": storefront.description,
        "published": storefront.published,
        **domain_data(storefront),
        "customDomainVerifiedAt": storefront.custom_domain_verified_at,
    }


class StorefrontInputSerializer(StrictInputSerializer):
    customDomain = serializers.CharField(
        max_length=1000, required=False, allow_null=True, allow_blank=True
    )
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    published = serializers.BooleanField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "dict"):  # a form: one value per field
            data = {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"}
        return super().to_internal_value(data)


class StorefrontViewOrManage(BasePermission):
    """Reading needs store.storefront.view, changing store.storefront.manage (refused and
    audited as that permission is)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        permission = StorefrontView() if request.method in SAFE_METHODS else StorefrontManage()
        self.message = permission.message
        return permission.has_permission(request, view)


def claim_hint(surface: str) -> dict[str, str]:
    """What the 409 CUSTOM_DOMAIN_TAKEN of a PUT adds: how to start a claim."""
    return {
        "method": "POST",
        "path": reverse(f"{surface}-store-storefront-claim"),
        "description": 'If the domain is yours, claim it with {"customDomain": ...}: publish '
        "your TXT record, remove the other store's, then verify to take it over.",
    }


class StorefrontSettingsView(APIView):
    """`GET`/`PUT /store/storefront`: the caller's storefront settings, incl. its domain."""

    permission_classes = [StorefrontViewOrManage]

    @extend_schema(
        operation_id="store_storefront_retrieve",
        responses=inline_serializer(
            "StorefrontSettings", {"id": serializers.UUIDField(), "slug": serializers.CharField()}
        ),
    )
    def get(self, request: Request) -> Response:
        storefront = storefront_ensure_token(storefront=storefront_for_request(request))
        return respond(settings_data(storefront))

    @extend_schema(
        operation_id="store_storefront_update",
        request=StorefrontInputSerializer,
        responses=inline_serializer("StorefrontUpdated", {"id": serializers.UUIDField()}),
    )
    def put(self, request: Request) -> Response:
        storefront = storefront_for_request(request)
        payload = StorefrontInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        options: dict[str, Any] = {
            k: data[k] for k in ("title", "description", "published") if k in data
        }
        if "customDomain" in data:
            options["custom_domain"] = data["customDomain"]
        try:
            storefront = storefront_update(storefront=storefront, **options)
        except CustomDomainTaken as exc:
            exc.extra["claim"] = claim_hint(getattr(self, "api_surface", "v1"))
            raise
        body = {"id": str(storefront.pk), "slug": storefront.slug, **domain_data(storefront)}
        return respond(body, "Storefront settings updated.")


class StorefrontDomainVerifyView(APIView):
    permission_classes = [StorefrontManage]

    @extend_schema(
        operation_id="store_storefront_domain_verify",
        request=None,
        responses=inline_serializer("DomainVerified", {"customDomain": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        storefront = storefront_verify_domain(storefront=storefront_for_request(request))
        return respond(domain_data(storefront), "Custom domain verified successfully.")


class ClaimInputSerializer(StrictInputSerializer):
    customDomain = serializers.CharField(max_length=1000)


def _txt(record: ExpectedRecord) -> dict[str, str]:
    return {"type": record.type, "hostname": record.name, "value": record.value}


class StorefrontDomainClaimView(APIView):
    """`POST /store/storefront/domain/claim`: sets the domain (unverified, a fresh token) even
    when another store has it verified or reserved; verify then takes it over only by proof:
    this store's TXT record published and the other store's gone."""

    permission_classes = [StorefrontManage]

    @extend_schema(
        operation_id="store_storefront_domain_claim",
        request=ClaimInputSerializer,
        responses=inline_serializer(
            "DomainClaimed",
            {
                "customDomain": serializers.CharField(),
                "customDomainVerified": serializers.BooleanField(),
                "customDomainVerificationToken": serializers.CharField(),
                "customDomainTarget": serializers.CharField(),
                "publish": serializers.DictField(help_text="The TXT record to publish."),
                "remove": serializers.DictField(
                    allow_null=True,
                    help_text="The TXT value of the store that holds the domain, which must be "
                    "gone from DNS before verify; null when no other store holds it.",
                ),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        storefront = storefront_for_request(request)
        payload = ClaimInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        claim = storefront_claim_domain(
            storefront=storefront, custom_domain=payload.validated_data["customDomain"]
        )
        body = {
            **domain_data(claim.storefront),
            "publish": _txt(claim.publish),
            "remove": _txt(claim.remove) if claim.remove else None,
        }
        return respond(body, claim.message)


class StorefrontDomainDiagnoseView(APIView):
    permission_classes = [StorefrontView]
    throttle_classes = [PrincipalRateThrottle, DiagnoseThrottle]

    @extend_schema(
        operation_id="store_storefront_domain_diagnose",
        request=None,
        responses=inline_serializer("DomainDiagnosis", {"ownership": serializers.DictField()}),
    )
    def post(self, request: Request) -> Response:
        diagnosis = storefront_diagnose(storefront=storefront_for_request(request))
        return respond(
            {
                "ownership": record_result_data(diagnosis.ownership),
                "routing": {**record_result_data(diagnosis.routing), "gate": False},
                # The `www` pair's routing record (an apex and its www), else null.
                "pairRouting": {**record_result_data(diagnosis.pair_routing), "gate": False}
                if diagnosis.pair_routing
                else None,
            },
            "Ownership is checked on verify; routing is guidance, never a gate.",
        )


def domain_status_data(storefront: Storefront) -> dict[str, Any]:
    """`GET /store/storefront/domain`: the custom domain as it is live, from the last probe
    (storefronts.live). Its own payload, so keys can be added without touching the
    contract's."""
    return {
        "customDomain": storefront.custom_domain,
        "customDomainVerified": storefront.custom_domain_verified,
        # `www` pairing: the other name of an apex or its www (else null), and the name the
        # store is served at (the other one redirects there).
        "customDomainPair": storefront.custom_domain_pair,
        "primaryHost": storefront.primary_host,
        "routingStatus": storefront.routing_status,
        "tlsStatus": storefront.tls_status,
        "hint": storefront.live_hint or None,
        "fix": live_fix(storefront) or None,
        "observed": storefront.live_observed,
        "checkedAt": storefront.live_checked_at,
    }


DomainStatusSerializer = inline_serializer(
    "DomainLiveStatus",
    {
        "customDomain": serializers.CharField(allow_null=True),
        "customDomainVerified": serializers.BooleanField(),
        "customDomainPair": serializers.CharField(allow_null=True),
        "primaryHost": serializers.CharField(allow_null=True),
        "routingStatus": serializers.ChoiceField(choices=Storefront.RoutingStatus.choices),
        "tlsStatus": serializers.ChoiceField(choices=Storefront.TlsStatus.choices),
        "hint": serializers.CharField(allow_null=True),
        "fix": serializers.CharField(allow_null=True),
        "observed": serializers.DictField(),
        "checkedAt": serializers.DateTimeField(allow_null=True),
    },
)


class PrimaryHostInputSerializer(StrictInputSerializer):
    primaryHost = serializers.CharField(max_length=1000)


class StorefrontDomainStatusView(APIView):
    """`GET`: the domain as it is live; `PATCH {"primaryHost"}`: which name of a `www` pair
    the store is served at (owners)."""

    permission_classes = [StorefrontViewOrManage]

    @extend_schema(operation_id="store_storefront_domain_status", responses=DomainStatusSerializer)
    def get(self, request: Request) -> Response:
        return respond(domain_status_data(storefront_for_request(request)))

    @extend_schema(
        operation_id="store_storefront_domain_update",
        request=PrimaryHostInputSerializer,
        responses=DomainStatusSerializer,
    )
    def patch(self, request: Request) -> Response:
        payload = PrimaryHostInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        storefront = storefront_set_primary_host(
            storefront=storefront_for_request(request),
            host=payload.validated_data["primaryHost"],
        )
        return respond(domain_status_data(storefront), "Primary host updated.")


class StorefrontDomainProbeView(APIView):
    """Runs the live probe now; it costs what a diagnose does, from the same budget."""

    permission_classes = [StorefrontManage]
    throttle_classes = [PrincipalRateThrottle, DiagnoseThrottle]

    @extend_schema(
        operation_id="store_storefront_domain_probe", request=None, responses=DomainStatusSerializer
    )
    def post(self, request: Request) -> Response:
        storefront = storefront_for_request(request)
        if storefront_live_probe(storefront=storefront) == "transient":
            raise DnsUnavailable()
        return respond(domain_status_data(storefront), "Live status checked.")


# --- public -------------------------------------------------------------------------------


class PublicRateThrottle(SimpleRateThrottle):
    scope = "public"

    def get_rate(self) -> str | None:
        from django.conf import settings

        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"throttle_public_{self.get_ident(request)}"


class PublicView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]


def product_data(product: Product) -> dict[str, Any]:
    return {
        "id": str(product.pk),
        "name": product.name,
        "description": product.description,
        "price": str(product.price),
        "currency": product.currency,
        "inStock": product.stock > 0,
    }


class NotInMemory(Exception):
    """The answer is not in this process's memory: the full request path takes over."""


def _not_in_memory() -> None:
    raise NotInMemory


# The bytes of the answer for each card this process holds in memory (the card object is
# kept with them, so a new card for the same store never finds the old bytes).
_RENDERED: dict[int, tuple[dict[str, Any], bytes]] = {}
_RENDERED_MAX = 10_000


def _rendered(card: dict[str, Any]) -> bytes:
    held = _RENDERED.get(id(card))
    if held is not None and held[0] is card:
        return held[1]
    body = JSONRenderer().render(respond(card).data)
    if len(_RENDERED) >= _RENDERED_MAX:
        _RENDERED.clear()
    _RENDERED[id(card)] = (card, body)
    return body


class PublicStorefrontView(PublicView):
    # Warm, the answer comes from this process's memory: no database, no network, and no
    # budget counted (counting in the shared cache would cost more than answering). A name
    # the process does not hold, which may reach the database, takes from the client's
    # budget (PUBLIC_API_RATE_LIMIT) first. A read has nothing to parse, authenticate or
    # permit either, so none of that is set up for it.
    throttle_classes: list = []
    parser_classes: list = []
    permission_classes: list = []
    _allow: str | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """A plain GET whose answer this process holds is sent as the bytes rendered the
        first time, with the headers DRF would send; everything else (a miss, a name not in
        memory, a query string, an Accept header to negotiate) takes DRF's full path."""
        if (
            request.method == "GET"
            and not request.META.get("QUERY_STRING")
            and request.META.get("HTTP_ACCEPT", "") in ANYTHING
        ):
            try:
                card = storefront_public_card(kwargs["slug"], before_leaving_memory=_not_in_memory)
            except (NotInMemory, NotFoundError):
                pass
            else:
                cls = type(self)
                if cls._allow is None:
                    cls._allow = ", ".join(self.allowed_methods)
                response = HttpResponse(_rendered(card), content_type="application/json")
                response["Allow"] = cls._allow
                return response
        return super().dispatch(request, *args, **kwargs)

    def perform_authentication(self, request: Request) -> None:
        pass  # no authenticators: DRF's documented way to not build the anonymous user

    @extend_schema(
        operation_id="public_storefront_retrieve",
        responses=inline_serializer("PublicStorefront", {"slug": serializers.CharField()}),
    )
    def get(self, request: Request, slug: str) -> Response:
        def pay() -> None:
            budget = PublicRateThrottle()
            if not budget.allow_request(request, self):
                self.throttled(request, budget.wait())

        return respond(storefront_public_card(slug, before_leaving_memory=pay))


class PublicCatalogView(PublicView):
    @extend_schema(
        operation_id="public_storefront_catalog",
        responses=inline_serializer("Catalog", {"products": serializers.ListField()}),
    )
    def get(self, request: Request, slug: str) -> Response:
        storefront = storefront_public(slug)
        products = storefront.products.filter(active=True)
        return respond({"products": [product_data(p) for p in products]})


class OtpInputSerializer(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)


class OrderItemSerializer(serializers.Serializer):
    productId = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=1000)


class OrderInputSerializer(StrictInputSerializer):
    email = serializers.EmailField(max_length=254)
    code = serializers.RegexField(
        r"^[0-9]{6}\Z", error_messages={"invalid": "The code has 6 digits."}
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    items = OrderItemSerializer(many=True, allow_empty=False, max_length=100)


class PublicOrderOtpView(PublicView):
    @extend_schema(
        operation_id="public_storefront_order_otp",
        request=OtpInputSerializer,
        responses=inline_serializer("OtpSent", {"email": serializers.EmailField()}),
    )
    def post(self, request: Request, slug: str) -> Response:
        storefront = storefront_public(slug)
        payload = OtpInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order_otp_request(storefront=storefront, email=payload.validated_data["email"])
        return respond({"email": payload.validated_data["email"]}, "A code was sent to your email.")


class PublicOrderView(PublicView):
    @extend_schema(
        operation_id="public_storefront_order_create",
        request=OrderInputSerializer,
        responses={201: inline_serializer("OrderPlaced", {"id": serializers.UUIDField()})},
    )
    def post(self, request: Request, slug: str) -> Response:
        storefront = storefront_public(slug)
        payload = OrderInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        order = order_place(
            storefront=storefront,
            email=data["email"],
            code=data["code"],
            name=data.get("name", ""),
            items=[
                {"product_id": i["productId"], "quantity": i["quantity"]} for i in data["items"]
            ],
        )
        body = {
            "id": str(order.pk),
            "total": str(order.total),
            "currency": order.currency,
            "lines": [
                {
                    "productId": str(line.product_id),
                    "name": line.name,
                    "quantity": line.quantity,
                    "unitPrice": str(line.unit_price),
                    "lineTotal": str(line.line_total),
                }
                for line in order.lines.all()
            ],
        }
        return respond(body, "Order placed.", status=201)
