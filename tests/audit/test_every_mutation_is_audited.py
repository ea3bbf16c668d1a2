"""Walks the URL conf: every API route that accepts POST, PUT, PATCH or DELETE must write
an audit event. A new mutating route without a case here fails the suite until one is added."""

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.services import api_key_create, membership_set, tenant_create
from audit.models import AuditEvent
from tests.conftest import OrgTrio, bearer_client, session_client
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create, publish

pytestmark = pytest.mark.django_db

MUTATING = {"post", "put", "patch", "delete"}
API_PREFIXES = ("api/v1/", "api/internal/")


def _route_text(pattern: Any) -> str:
    text = str(pattern)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    return text.replace("^", "").replace("$", "").replace("\\.", ".")


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, Callable]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _route_text(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _route_text(entry.pattern), entry.callback


def mutating_api_routes() -> set[tuple[str, str]]:
    routes = set()
    for route, callback in _walk(get_resolver().url_patterns):
        if not route.startswith(API_PREFIXES):
            continue
        view_class = getattr(callback, "cls", None)
        if view_class is None:
            continue
        actions = getattr(callback, "actions", None)
        methods = set(actions) if actions else {m for m in MUTATING if hasattr(view_class, m)}
        routes |= {(method.upper(), route) for method in methods & MUTATING}
    return routes


@dataclass
class Call:
    client: APIClient
    path: str
    body: dict | None = None


def _tenant(trio: OrgTrio) -> str:
    return tenant_create(organization=trio.organization, name="Walk").pk


def _key(trio: OrgTrio) -> str:
    return api_key_create(
        organization=trio.organization, name="k", created_by=trio.owner
    ).api_key.pk


def _second_org(trio: OrgTrio) -> str:
    membership_set(organization=trio.other_organization, user=trio.owner, role="owner")
    return trio.other_organization.pk


def _endpoint(trio: OrgTrio, *, enabled: bool = True) -> str:
    endpoint, _ = endpoint_create(organization=trio.organization, url=HOOK_URL)
    if not enabled:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    return endpoint.pk


def _delivery(trio: OrgTrio) -> str:
    _endpoint(trio)
    event = publish(organization=trio.organization, type="domain.verified", obj={"id": "d"})
    return WebhookDelivery.objects.get(event=event).pk


HOOK_URL = "http://127.0.0.1:9/hooks"
# POST by contract, but they change nothing: no audit event is owed.
READ_ONLY = {
    ("POST", f"api/{surface}/{path}")
    for surface in ("v1", "internal")
    for path in ("domains/<pk>/diagnose", "store/storefront/domain/diagnose")
}
# POST runs the live probe now: it records what it saw on the storefront's row, as the
# background probe does, which changes no configuration or lifecycle: no audit event is owed.
OBSERVATIONS = {
    ("POST", f"api/{surface}/store/storefront/domain/probe") for surface in ("v1", "internal")
}
# Sends are logged as message rows (`GET /api/v1/emails`), one per email: putting each on
# the audit chain would serialise an organization's sends on its chain head, and the log is
# for changes to configuration and lifecycle. The test email, an owner's action on a
# domain, is audited (its case is below).
LOGGED_ELSEWHERE = {("POST", "api/v1/emails")}
# The DNS server the storefront verify case publishes its record in (set by the test).
CONTEXT: dict[str, Any] = {}


def _storefront(trio: OrgTrio, *, with_record: bool = False) -> str:
    from storefronts.models import Product, Storefront
    from storefronts.services import store_create, storefront_update

    front = Storefront.objects.filter(store__organization=trio.organization).first()
    if front is None:
        front = store_create(
            organization=trio.organization, name="Walk", slug=f"walk{secrets.token_hex(3)}"
        )
        Storefront.objects.filter(pk=front.pk).update(published=True)
        Product.objects.create(storefront=front, name="P", price=1, stock=5)
    if with_record:
        front = storefront_update(storefront=front, custom_domain=f"{front.slug}.example.test")
        CONTEXT["knot"].set(
            f"_sendy-verify.{front.custom_domain}",
            "TXT",
            f'"sendy-verify={front.custom_domain_verification_token}"',
        )
    return front.slug


def _paired_domain(trio: OrgTrio) -> str:
    """The walk's storefront with an apex domain (and so a `www` pair)."""
    from storefronts.models import Storefront
    from storefronts.services import storefront_update

    front = Storefront.objects.get(slug=_storefront(trio))
    return storefront_update(storefront=front, custom_domain=f"{front.slug}.test").custom_domain


def _order_body(trio: OrgTrio) -> tuple[str, dict]:
    import re as regex

    from django.core import mail
    from rest_framework.test import APIClient as Anonymous

    from storefronts.models import Product

    slug = _storefront(trio)
    Anonymous().post(
        f"/api/v1/public/storefronts/{slug}/orders/otp", {"email": "b@example.test"}, format="json"
    )
    code = regex.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    product = Product.objects.get(storefront__slug=slug)
    items = [{"productId": str(product.pk), "quantity": 1}]
    return f"public/storefronts/{slug}/orders", {
        "email": "b@example.test",
        "code": code,
        "items": items,
    }


def _domain(trio: OrgTrio, *, verified: bool = False) -> str:
    from domains.models import SendingDomain
    from domains.services import sending_domain_create

    domain = sending_domain_create(
        organization=trio.organization, name=f"walk{secrets.token_hex(3)}.example.test"
    )
    if verified:
        SendingDomain.objects.filter(pk=domain.pk).update(status="verified")
    return domain.pk


Build = Callable[[OrgTrio], tuple[str, dict | None]]

# Routes served on both surfaces: (method, path after the surface prefix) -> request.
BOTH: dict[tuple[str, str], Build] = {
    ("POST", "tenants"): lambda t: ("tenants", {"name": "A"}),
    ("PATCH", "tenants/<pk>"): lambda t: (f"tenants/{_tenant(t)}", {"name": "B"}),
    ("DELETE", "tenants/<pk>"): lambda t: (f"tenants/{_tenant(t)}", None),
    ("POST", "webhook-endpoints"): lambda t: ("webhook-endpoints", {"url": HOOK_URL}),
    ("PATCH", "webhook-endpoints/<pk>"): lambda t: (
        f"webhook-endpoints/{_endpoint(t)}",
        {"description": "d"},
    ),
    ("DELETE", "webhook-endpoints/<pk>"): lambda t: (f"webhook-endpoints/{_endpoint(t)}", None),
    ("POST", "webhook-endpoints/<pk>/rotate-secret"): lambda t: (
        f"webhook-endpoints/{_endpoint(t)}/rotate-secret",
        None,
    ),
    ("POST", "webhook-endpoints/<pk>/enable"): lambda t: (
        f"webhook-endpoints/{_endpoint(t, enabled=False)}/enable",
        None,
    ),
    ("POST", "webhook-endpoints/<pk>/test"): lambda t: (
        f"webhook-endpoints/{_endpoint(t)}/test",
        None,
    ),
    ("POST", "webhook-endpoints/<pk>/recover"): lambda t: (
        f"webhook-endpoints/{_endpoint(t)}/recover",
        {"since": "2020-01-01T00:00:00Z"},
    ),
    ("POST", "webhook-deliveries/<pk>/resend"): lambda t: (
        f"webhook-deliveries/{_delivery(t)}/resend",
        None,
    ),
    ("DELETE", "domains/<pk>"): lambda t: (f"domains/{_domain(t)}", None),
    ("POST", "domains/<pk>/verify"): lambda t: (f"domains/{_domain(t)}/verify", None),
    ("POST", "domains/<pk>/warmup"): lambda t: (f"domains/{_domain(t)}/warmup", {"total_days": 5}),
    ("PATCH", "domains/<pk>/region"): lambda t: (
        f"domains/{_domain(t)}/region",
        {"region": "eu-west-1"},
    ),
    ("PATCH", "domains/<pk>/tenant"): lambda t: (
        f"domains/{_domain(t)}/tenant",
        {"tenant_id": None},
    ),
    ("POST", "domains/<pk>/test-email"): lambda t: (
        f"domains/{_domain(t, verified=True)}/test-email",
        {"to": "walk@example.org"},
    ),
    ("PUT", "store/storefront"): lambda t: (
        "store/storefront",
        {"customDomain": "walk-put.example.test"} if _storefront(t) else None,
    ),
    ("PATCH", "store/storefront/domain"): lambda t: (
        "store/storefront/domain",
        {"primaryHost": f"www.{_paired_domain(t)}"},
    ),
    ("POST", "store/storefront/domain/verify"): lambda t: (
        "store/storefront/domain/verify" if _storefront(t, with_record=True) else "",
        None,
    ),
    ("POST", "store/storefront/domain/claim"): lambda t: (
        "store/storefront/domain/claim",
        {"customDomain": "walk-claim.example.test"} if _storefront(t) else None,
    ),
}
# Routes only the dashboard has.
INTERNAL_ONLY: dict[tuple[str, str], Build] = {
    ("POST", "api-keys"): lambda t: ("api-keys", {"name": "deploy"}),
    ("DELETE", "api-keys/<pk>"): lambda t: (f"api-keys/{_key(t)}", None),
    ("POST", "organizations/current"): lambda t: (
        "organizations/current",
        {"organization_id": _second_org(t)},
    ),
    ("POST", "domains"): lambda t: ("domains", {"domain": "walk-internal.example.test"}),
    ("PATCH", "domains"): lambda t: ("domains", {"id": _domain(t)}),
    ("DELETE", "domains"): lambda t: (f"domains?id={_domain(t)}", None),
}
V1_ONLY: dict[tuple[str, str], Build] = {
    ("POST", "domains"): lambda t: ("domains", {"name": "walk-v1.example.test"}),
    ("POST", "public/storefronts/<str:slug>/orders/otp"): lambda t: (
        f"public/storefronts/{_storefront(t)}/orders/otp",
        {"email": "b@example.test"},
    ),
    ("POST", "public/storefronts/<str:slug>/orders"): _order_body,
}


def _case(surface: str, build: Build) -> Callable[[OrgTrio], Call]:
    def make(trio: OrgTrio) -> Call:
        path, body = build(trio)
        if surface == "v1":
            key = api_key_create(organization=trio.organization, name="walk", created_by=None)
            return Call(bearer_client(key.raw_key), f"/api/v1/{path}", body)
        return Call(session_client(trio.owner), f"/api/internal/{path}", body)

    return make


CASES: dict[tuple[str, str], Callable[[OrgTrio], Call]] = {
    **{(m, f"api/v1/{p}"): _case("v1", b) for (m, p), b in BOTH.items()},
    **{(m, f"api/internal/{p}"): _case("internal", b) for (m, p), b in BOTH.items()},
    **{(m, f"api/internal/{p}"): _case("internal", b) for (m, p), b in INTERNAL_ONLY.items()},
    **{(m, f"api/v1/{p}"): _case("v1", b) for (m, p), b in V1_ONLY.items()},
}


def test_every_mutating_route_has_a_case() -> None:
    missing = mutating_api_routes() - set(CASES) - READ_ONLY - OBSERVATIONS - LOGGED_ELSEWHERE
    stale = set(CASES) - mutating_api_routes()

    assert not missing, f"mutating routes with no audit case: {sorted(missing)}"
    assert not stale, f"cases for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("case", sorted(CASES), ids=lambda c: f"{c[0]} {c[1]}")
def test_each_mutating_route_writes_an_audit_event(
    trio: OrgTrio, case: tuple[str, str], dns: Any
) -> None:
    CONTEXT["knot"] = dns
    call = CASES[case](trio)
    before = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()

    response = call.client.generic(
        case[0],
        call.path,
        data=json.dumps(call.body or {}),
        content_type="application/json",
    )

    assert 200 <= response.status_code < 300, response.content
    written = AuditEvent.objects.filter(sequence__gt=before or 0)
    assert written.exclude(action__in=["api_key.created"]).exists() or case[1].startswith(
        "api/internal/api-keys"
    ), f"{case[0]} {call.path} wrote no audit event"
