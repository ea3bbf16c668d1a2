"""Cases found in review of the storefronts app."""

import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from config.errors import ServiceError
from storefronts.models import OrderOtp, Product, Storefront
from storefronts.services import (
    OTP_MAX_ATTEMPTS,
    _check_otp,
    store_create,
    storefront_recheck_domain,
    storefronts_recheck_due,
)
from tests.conftest import OrgTrio
from tests.storefronts.conftest import verified

pytestmark = pytest.mark.django_db
PUBLIC = "/api/v1/public/storefronts"


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def _order(client: APIClient, product: Product, code: str, quantity: int = 1):
    return client.post(
        f"{PUBLIC}/mystore/orders",
        {
            "email": "buyer@example.test",
            "code": code,
            "items": [{"productId": str(product.pk), "quantity": quantity}],
        },
        format="json",
    )


def test_a_long_email_is_a_400_not_a_crash(storefront: Storefront) -> None:
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"

    response = APIClient().post(f"{PUBLIC}/mystore/orders/otp", {"email": email}, format="json")

    assert response.status_code == 400


def test_a_nul_in_the_path_is_a_400(storefront: Storefront) -> None:
    for path in (f"{PUBLIC}/a%00b", f"{PUBLIC}/a%00b/catalog"):
        assert APIClient().get(path).status_code == 400


def test_a_failed_order_does_not_spend_the_code(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    client.post(f"{PUBLIC}/mystore/orders/otp", {"email": "buyer@example.test"}, format="json")
    code = _code()

    too_many = _order(client, product, code, quantity=9)
    fine = _order(client, product, code, quantity=1)

    assert too_many.json()["code"] == "OUT_OF_STOCK"
    assert fine.status_code == 201


def test_only_ascii_digits_make_a_code(storefront: Storefront, product: Product) -> None:
    client = APIClient()
    client.post(f"{PUBLIC}/mystore/orders/otp", {"email": "buyer@example.test"}, format="json")

    response = _order(client, product, "\u0661\u0662\u0663\u0664\u0665\u0666")

    assert response.status_code == 400
    assert OrderOtp.objects.get().attempts == 0


def test_tries_are_taken_before_the_comparison(storefront: Storefront) -> None:
    APIClient().post(f"{PUBLIC}/mystore/orders/otp", {"email": "b@example.test"}, format="json")
    code = _code()
    OrderOtp.objects.update(attempts=OTP_MAX_ATTEMPTS - 1)
    wrong = "000000" if code != "000000" else "111111"

    with pytest.raises(ServiceError) as first:
        _check_otp(storefront, "b@example.test", wrong)
    with pytest.raises(ServiceError) as second:
        _check_otp(storefront, "b@example.test", code)

    assert (first.value.code, second.value.code) == ("OTP_INVALID", "OTP_ATTEMPTS_EXCEEDED")
    assert OrderOtp.objects.get().attempts == OTP_MAX_ATTEMPTS


def test_a_store_domain_over_plain_http_is_redirected_to_itself(
    storefront: Storefront, settings
) -> None:
    verified(storefront)
    settings.SECURE_SSL_REDIRECT = True

    response = Client(HTTP_HOST="mystore.com").get("/api/v1/public/storefront?x=1")

    assert response.status_code == 301
    assert response["Location"] == "https://mystore.com/api/v1/public/storefront?x=1"


def test_our_hsts_is_not_sent_for_a_store_domain(storefront: Storefront, settings) -> None:
    verified(storefront)
    settings.SECURE_HSTS_SECONDS = 3600

    response = Client(HTTP_HOST="mystore.com").get("/", secure=True)

    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response


def test_a_slug_swap_never_serves_the_other_store(storefront: Storefront, trio: OrgTrio) -> None:
    verified(storefront)
    other = store_create(organization=trio.other_organization, name="Evil", slug="evil")
    Storefront.objects.filter(pk=other.pk).update(published=True)
    client = Client(HTTP_HOST="mystore.com")
    assert b"My Store" in client.get("/").content

    mine = Storefront.objects.get(pk=storefront.pk)
    theirs = Storefront.objects.get(pk=other.pk)
    mine.slug = "tmp-slug"
    mine.save()
    theirs.slug = "mystore"
    theirs.save()
    mine.slug = "evil"
    mine.save()

    page = client.get("/").content
    assert b"My Store" in page
    assert b"Evil" not in page


def test_propagating_never_counts_as_a_miss(storefront: Storefront, monkeypatch) -> None:
    from dnscheck.records import Outcome, RecordResult
    from storefronts import services

    verified(storefront)
    monkeypatch.setattr(
        services,
        "_check",
        lambda records: [RecordResult(records[0], Outcome.MISSING, "propagating", "wait")],
    )

    outcomes = [storefront_recheck_domain(storefront=storefront) for _ in range(4)]

    assert outcomes == ["ok"] * 4


def test_a_miss_only_resolvers_saw_never_counts(storefront: Storefront, monkeypatch) -> None:
    from dnscheck.records import Outcome, RecordResult
    from storefronts import services

    verified(storefront)
    monkeypatch.setattr(
        services,
        "_check",
        lambda records: [RecordResult(records[0], Outcome.MISSING, "token_missing", "add it")],
    )

    assert storefront_recheck_domain(storefront=storefront) == "transient"
    assert Storefront.objects.get(pk=storefront.pk).domain_missing_checks == 0


def test_a_verified_domain_with_no_schedule_is_still_rechecked(
    storefront: Storefront, monkeypatch
) -> None:
    from storefronts import services

    verified(storefront)
    seen: list[str] = []
    monkeypatch.setattr(
        services, "storefront_recheck_domain", lambda storefront: seen.append(storefront.slug)
    )

    assert storefronts_recheck_due() == 1
    assert seen == ["mystore"]
