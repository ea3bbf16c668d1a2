"""Public resolution, catalog, orders with one-time codes, host routing and the TLS ask."""

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from storefronts.models import Order, OrderOtp, Product, Storefront
from storefronts.services import store_create, storefront_recheck_domain, storefront_verify_domain
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.storefronts.conftest import verified, verify_txt
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
PUBLIC = "/api/v1/public/storefronts"


def test_by_slug_and_by_verified_domain(storefront: Storefront) -> None:
    client = APIClient()
    verified(storefront)

    by_slug = client.get(f"{PUBLIC}/mystore").json()["data"]
    by_domain = client.get(f"{PUBLIC}/MyStore.com").json()["data"]

    assert by_slug == by_domain
    assert by_slug["customDomain"] == "mystore.com"


@pytest.mark.parametrize(
    "change",
    [
        {"custom_domain_verified": False},
        {"published": False},
        {"deleted_at": timezone.now()},
    ],
)
def test_unverified_unpublished_or_deleted_never_resolves(
    storefront: Storefront, change: dict
) -> None:
    verified(storefront)
    Storefront.objects.filter(pk=storefront.pk).update(**change)
    client = APIClient()

    by_domain = client.get(f"{PUBLIC}/mystore.com")

    assert (by_domain.status_code, by_domain.json()["code"]) == (404, "STOREFRONT_NOT_FOUND")
    if "custom_domain_verified" in change:
        assert client.get(f"{PUBLIC}/mystore").status_code == 200


def test_catalog_lists_active_products(storefront: Storefront, product: Product) -> None:
    Product.objects.create(storefront=storefront, name="Hidden", price=1, active=False)

    products = APIClient().get(f"{PUBLIC}/mystore/catalog").json()["data"]["products"]

    assert [(p["name"], p["price"], p["currency"], p["inStock"]) for p in products] == [
        ("Mug", "12.50", "EUR", True)
    ]


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def _order(client: APIClient, product: Product, code: str, quantity: int = 2) -> object:
    return client.post(
        f"{PUBLIC}/mystore/orders",
        {
            "email": "buyer@example.test",
            "code": code,
            "items": [{"productId": str(product.pk), "quantity": quantity}],
        },
        format="json",
    )


def test_an_order_with_a_code_takes_stock_and_totals_on_the_server(
    storefront: Storefront, product: Product
) -> None:
    client = APIClient()
    sent = client.post(
        f"{PUBLIC}/mystore/orders/otp", {"email": "Buyer@Example.test"}, format="json"
    )
    code = _code()

    response = _order(client, product, code)

    assert sent.status_code == 200
    assert response.status_code == 201
    assert (response.json()["data"]["total"], response.json()["data"]["currency"]) == (
        "25.00",
        "EUR",
    )
    product.refresh_from_db()
    assert product.stock == 1
    otp = OrderOtp.objects.get()
    assert code not in otp.code_hash and otp.used_at is not None


def test_a_code_works_once(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    client.post(f"{PUBLIC}/mystore/orders/otp", {"email": "buyer@example.test"}, format="json")
    code = _code()
    _order(client, product, code, quantity=1)

    again = _order(client, product, code, quantity=1)

    assert (again.status_code, again.json()["code"]) == (400, "OTP_INVALID")


def test_a_code_expires_after_10_minutes(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    client.post(f"{PUBLIC}/mystore/orders/otp", {"email": "buyer@example.test"}, format="json")
    code = _code()

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = _order(client, product, code)

    assert response.json()["code"] == "OTP_EXPIRED"


def test_wrong_codes_are_limited(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    client.post(f"{PUBLIC}/mystore/orders/otp", {"email": "buyer@example.test"}, format="json")
    code = _code()
    wrong = "000000" if code != "000000" else "111111"

    codes = [_order(client, product, wrong).json()["code"] for _ in range(5)]
    last = _order(client, product, code)

    assert codes == ["OTP_INVALID"] * 5
    assert last.json()["code"] == "OTP_ATTEMPTS_EXCEEDED"
    assert not Order.objects.exists()


def test_too_many_codes_requested(storefront: Storefront) -> None:
    client = APIClient()
    statuses = [
        client.post(
            f"{PUBLIC}/mystore/orders/otp", {"email": "a@example.test"}, format="json"
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_stock_is_checked(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    client.post(f"{PUBLIC}/mystore/orders/otp", {"email": "buyer@example.test"}, format="json")

    response = _order(client, product, _code(), quantity=4)

    assert (response.status_code, response.json()["code"]) == (409, "OUT_OF_STOCK")
    product.refresh_from_db()
    assert product.stock == 3


def test_order_input_rules(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    response = client.post(
        f"{PUBLIC}/mystore/orders", {"email": "x", "code": "12", "items": []}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"email", "code", "items"}


# --- host routing and TLS --------------------------------------------------------------


def test_a_verified_domain_serves_its_storefront_without_the_slug(
    storefront: Storefront, product: Product
) -> None:
    verified(storefront)
    client = Client(HTTP_HOST="mystore.com")

    page = client.get("/")
    api = client.get("/api/v1/public/storefront/catalog")

    assert page.status_code == 200
    assert b"My Store" in page.content and b"Mug" in page.content
    assert api.json()["data"]["products"][0]["name"] == "Mug"


def test_nothing_else_is_reachable_on_a_store_domain(storefront: Storefront) -> None:
    verified(storefront)
    client = Client(HTTP_HOST="mystore.com")

    for path in (
        "/admin/",
        "/login/",
        "/api/v1/tenants",
        "/api/internal/tenants",
        "/internal/tls/ask",
    ):
        assert client.get(path).status_code == 404, path


def test_unknown_and_unverified_hosts_are_404(storefront: Storefront) -> None:
    Storefront.objects.filter(pk=storefront.pk).update(custom_domain="pending.com")

    assert Client(HTTP_HOST="unknown.example").get("/").status_code == 404
    assert Client(HTTP_HOST="pending.com").get("/").status_code == 404
    assert Client(HTTP_HOST="bad host!").get("/").status_code == 404


def test_host_answers_are_cached_and_cleared_on_change(
    v1: APIClient, storefront: Storefront, django_assert_num_queries
) -> None:
    from storefronts.services import storefront_slug_for_host

    verified(storefront)
    client = Client(HTTP_HOST="mystore.com")
    assert client.get("/api/v1/public/storefront").status_code == 200
    assert storefront_slug_for_host("unknown.example") is None
    with django_assert_num_queries(0):  # both answers come from the cache
        assert storefront_slug_for_host("mystore.com") == "mystore"
        assert storefront_slug_for_host("unknown.example") is None

    v1.put("/api/v1/store/storefront", {"customDomain": None}, format="json")

    assert client.get("/api/v1/public/storefront").status_code == 404


def test_tls_ask(storefront: Storefront) -> None:
    client = Client()
    verified(storefront)
    other = store_create(organization=storefront.store.organization, name="O", slug="o")
    Storefront.objects.filter(pk=other.pk).update(custom_domain="pending.com", published=True)

    assert client.get("/internal/tls/ask", {"domain": "mystore.com"}).status_code == 200
    assert client.get("/internal/tls/ask", {"domain": "pending.com"}).status_code == 404
    assert client.get("/internal/tls/ask", {"domain": "nobody.com"}).status_code == 404
    assert client.get("/internal/tls/ask", {"domain": "not a domain"}).status_code == 400
    assert client.get("/internal/tls/ask").status_code == 400


# --- re-verification --------------------------------------------------------------------


def test_only_three_definite_misses_over_48_hours_unverify(
    v1: APIClient, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    v1.put("/api/v1/store/storefront", {"customDomain": f"{label}.example.test"}, format="json")
    storefront.refresh_from_db()
    verify_txt(dns, storefront)
    storefront_verify_domain(storefront=storefront)
    dns.delete(f"_sendy-verify.{label}.example.test", "TXT")
    start = timezone.now()

    outcomes = []
    for hours in (0, 24, 47, 49):
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            storefront.refresh_from_db()
            outcomes.append(storefront_recheck_domain(storefront=storefront))

    assert outcomes == ["missing", "missing", "missing", "unverified"]
    storefront.refresh_from_db()
    assert storefront.custom_domain_verified is False
    assert WebhookEvent.objects.filter(type="storefront.domain_unverified").exists()
    assert APIClient().get(f"{PUBLIC}/{label}.example.test").status_code == 404


def test_dns_failures_never_count_as_misses(storefront: Storefront, settings) -> None:
    verified(storefront)
    settings.DNS_TIMEOUT = 0.1  # nothing answers at 127.0.0.1:9: each question times out

    outcomes = [storefront_recheck_domain(storefront=storefront) for _ in range(4)]

    assert outcomes == ["transient"] * 4
    after = Storefront.objects.get(pk=storefront.pk)
    assert (after.custom_domain_verified, after.domain_missing_checks) == (True, 0)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent verification needs PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_two_stores_verifying_one_domain_at_once_exactly_one_wins(
    trio: OrgTrio, monkeypatch
) -> None:
    """Both see their record in DNS at the same moment and reach the update together."""
    from dnscheck.records import Outcome, RecordResult
    from storefronts import services

    domain = "race.example.test"
    fronts = []
    for n in range(2):
        front = store_create(organization=trio.organization, name=f"S{n}", slug=f"race{n}")
        Storefront.objects.filter(pk=front.pk).update(
            custom_domain=domain, custom_domain_verification_token=f"{n}" * 32
        )
        front.refresh_from_db()
        fronts.append(front)
    barrier = threading.Barrier(2)

    def both_found(records):
        barrier.wait(timeout=10)  # both lookups done: the two updates overlap
        return [RecordResult(r, Outcome.OK, None, "ok", r.value) for r in records]

    monkeypatch.setattr(services, "_check", both_found)
    outcomes: list[str] = []

    def verify(front: Storefront) -> None:
        try:
            storefront_verify_domain(storefront=front)
            outcomes.append("verified")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", type(exc).__name__))
        finally:
            connection.close()

    threads = [threading.Thread(target=verify, args=(f,)) for f in fronts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["CUSTOM_DOMAIN_TAKEN", "verified"]
    assert Storefront.objects.filter(custom_domain=domain, custom_domain_verified=True).count() == 1
    assert WebhookEvent.objects.filter(type="storefront.domain_verified").count() == 1


def test_the_demo_store_loads_once(settings) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    call_command("load_demo_store", stdout=StringIO())
    call_command("load_demo_store", stdout=StringIO())

    assert Storefront.objects.filter(slug="acme-shop", published=True).count() == 1
    assert APIClient().get(f"{PUBLIC}/acme-shop/catalog").json()["data"]["products"]
