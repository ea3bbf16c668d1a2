"""The storefront custom-domain contract, request by request, with its exact messages."""

import pytest
from django.contrib.admin.utils import quote
from rest_framework.test import APIClient

from storefronts.models import Storefront
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.storefronts.conftest import verify_txt
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/store/storefront"


def test_put_sets_the_domain_with_a_fresh_token(v1: APIClient, storefront: Storefront) -> None:
    response = v1.put(URL, {"customDomain": "  MyStore.COM. "}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["message"]) == (True, "Storefront settings updated.")
    data = body["data"]
    assert set(data) == {
        "id",
        "slug",
        "customDomain",
        "customDomainVerified",
        "customDomainVerificationToken",
        "customDomainTarget",
    }
    assert (data["id"], data["slug"], data["customDomain"]) == (
        str(storefront.pk),
        "mystore",
        "mystore.com",
    )
    assert data["customDomainVerified"] is False
    assert len(data["customDomainVerificationToken"]) == 32
    int(data["customDomainVerificationToken"], 16)
    assert data["customDomainTarget"] == "127.0.0.1"
    assert WebhookEvent.objects.filter(type="storefront.domain_set").exists()


def test_put_takes_multipart_form_data(v1: APIClient, storefront: Storefront) -> None:
    response = v1.put(URL, {"customDomain": "shop.example.test"}, format="multipart")

    assert response.json()["data"]["customDomain"] == "shop.example.test"


def test_the_same_domain_keeps_its_token_a_new_one_resets(
    v1: APIClient, storefront: Storefront
) -> None:
    first = v1.put(URL, {"customDomain": "mystore.com"}, format="json").json()["data"]
    same = v1.put(URL, {"customDomain": "MYSTORE.com"}, format="json").json()["data"]
    other = v1.put(URL, {"customDomain": "other.com"}, format="json").json()["data"]

    assert same["customDomainVerificationToken"] == first["customDomainVerificationToken"]
    assert other["customDomainVerificationToken"] != first["customDomainVerificationToken"]


@pytest.mark.parametrize("empty", [None, ""])
def test_null_or_empty_clears_domain_token_and_flag(
    v1: APIClient, storefront: Storefront, empty
) -> None:
    v1.put(URL, {"customDomain": "mystore.com"}, format="json")

    data = v1.put(URL, {"customDomain": empty}, format="json").json()["data"]

    assert (
        data["customDomain"],
        data["customDomainVerificationToken"],
        data["customDomainVerified"],
    ) == (None, None, False)
    assert WebhookEvent.objects.filter(type="storefront.domain_cleared").exists()


@pytest.mark.parametrize(
    ("domain", "code"),
    [("not a domain", "INVALID_DOMAIN"), ("co.uk", "PUBLIC_SUFFIX"), ("1.2.3.4", "IP_LITERAL")],
)
def test_invalid_domains(v1: APIClient, storefront: Storefront, domain: str, code: str) -> None:
    response = v1.put(URL, {"customDomain": domain}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert "customDomain" in response.json()["errors"]


def test_a_domain_verified_by_another_store_is_taken(
    v1: APIClient, storefront: Storefront, trio: OrgTrio
) -> None:
    from storefronts.services import store_create

    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    Storefront.objects.filter(pk=other.pk).update(
        custom_domain="mystore.com", custom_domain_verified=True
    )

    response = v1.put(URL, {"customDomain": "mystore.com"}, format="json")

    assert response.status_code == 409
    taken = {
        "success": False,
        "message": "This domain is already in use by another store.",
        "code": "CUSTOM_DOMAIN_TAKEN",
    }
    assert response.json().items() >= taken.items(), response.json()


def test_an_unverified_claim_elsewhere_never_blocks(
    v1: APIClient, storefront: Storefront, trio: OrgTrio
) -> None:
    from storefronts.services import store_create

    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    Storefront.objects.filter(pk=other.pk).update(custom_domain="mystore.com")

    assert v1.put(URL, {"customDomain": "mystore.com"}, format="json").status_code == 200


def test_get_lazily_backfills_a_missing_token(v1: APIClient, storefront: Storefront) -> None:
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain="legacy.com", custom_domain_verification_token=None
    )

    data = v1.get(URL).json()["data"]

    assert len(data["customDomainVerificationToken"]) == 32
    assert (
        Storefront.objects.get(pk=storefront.pk).custom_domain_verification_token
        == data["customDomainVerificationToken"]
    )


def test_verify_success(v1: APIClient, storefront: Storefront, dns: KnotServer, label: str) -> None:
    v1.put(URL, {"customDomain": f"{label}.example.test"}, format="json")
    storefront.refresh_from_db()
    verify_txt(dns, storefront)

    response = v1.post(f"{URL}/domain/verify")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Custom domain verified successfully."
    assert body["data"] == {
        "customDomain": f"{label}.example.test",
        "customDomainVerified": True,
        "customDomainVerificationToken": storefront.custom_domain_verification_token,
        "customDomainTarget": "127.0.0.1",
    }
    storefront.refresh_from_db()
    assert storefront.custom_domain_verified_at is not None
    assert WebhookEvent.objects.filter(type="storefront.domain_verified").exists()


def test_verify_not_configured(v1: APIClient, storefront: Storefront) -> None:
    response = v1.post(f"{URL}/domain/verify")

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["message"]) == (
        "DOMAIN_NOT_CONFIGURED",
        "No custom domain or verification token configured.",
    )


def test_verify_already_verified(v1: APIClient, storefront: Storefront) -> None:
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain="mystore.com",
        custom_domain_verification_token="a" * 32,
        custom_domain_verified=True,
    )

    response = v1.post(f"{URL}/domain/verify")

    assert (response.status_code, response.json()["code"], response.json()["message"]) == (
        400,
        "DOMAIN_ALREADY_VERIFIED",
        "Custom domain is already verified.",
    )


@pytest.mark.parametrize(
    ("published", "hint"),
    [
        (None, "token_missing"),
        ('"sendy-verify=00000000000000000000000000000000"', "token_mismatch"),
    ],
)
def test_verify_txt_not_found_carries_the_hint(
    v1: APIClient,
    storefront: Storefront,
    dns: KnotServer,
    label: str,
    published: str | None,
    hint: str,
) -> None:
    v1.put(URL, {"customDomain": f"{label}.example.test"}, format="json")
    if published:
        dns.set(f"_sendy-verify.{label}.example.test", "TXT", published)

    response = v1.post(f"{URL}/domain/verify")

    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["message"]) == (
        "DNS_TXT_NOT_FOUND",
        "TXT record not found. DNS propagation can take up to 24 hours.",
    )
    assert body["hint"] == hint
    assert "sendy-verify=" in body["fix"]


def test_verify_when_dns_does_not_answer_is_retryable_not_422(
    v1: APIClient, storefront: Storefront, settings
) -> None:
    v1.put(URL, {"customDomain": "mystore.com"}, format="json")
    settings.DNS_TIMEOUT = 0.3  # nameservers are a dead loopback port in tests

    response = v1.post(f"{URL}/domain/verify")

    assert (response.status_code, response.json()["code"]) == (503, "DNS_UNAVAILABLE")
    assert Storefront.objects.get(pk=storefront.pk).custom_domain_verified is False


def test_diagnose_shows_ownership_and_routing(
    v1: APIClient, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    v1.put(URL, {"customDomain": f"shop.{label}.example.test"}, format="json")
    dns.set(f"shop.{label}.example.test", "CNAME", "elsewhere.example.net.")

    data = v1.post(f"{URL}/domain/diagnose").json()["data"]

    assert data["ownership"]["hint"] == "token_missing"
    assert data["routing"]["type"] == "CNAME"
    assert data["routing"]["hint"] == "wrong_target"
    assert data["routing"]["gate"] is False


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", URL),
        ("put", URL),
        ("post", f"{URL}/domain/verify"),
        ("post", f"{URL}/domain/diagnose"),
    ],
)
def test_an_organization_without_a_store(
    outsider_v1: APIClient, storefront: Storefront, method: str, path: str
) -> None:
    response = getattr(outsider_v1, method)(path, {}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "STORE_NOT_FOUND")
    assert Storefront.objects.get(pk=storefront.pk).custom_domain is None


def test_staff_can_view_but_not_manage(staff_session: APIClient, storefront: Storefront) -> None:
    internal = "/api/internal/store/storefront"

    assert staff_session.get(internal).status_code == 200
    assert staff_session.put(internal, {"customDomain": "x.com"}, format="json").status_code == 403
    assert staff_session.post(f"{internal}/domain/verify").status_code == 403


def test_a_multi_store_organization_picks_with_a_header(
    v1: APIClient, storefront: Storefront, trio: OrgTrio
) -> None:
    from storefronts.services import store_create

    second = store_create(organization=trio.organization, name="Second", slug="second")

    default = v1.get(URL).json()["data"]["slug"]
    chosen = v1.get(URL, HTTP_X_STORE_ID=str(second.store_id)).json()["data"]["slug"]
    bad = v1.get(URL, HTTP_X_STORE_ID="not-a-uuid")

    assert (default, chosen) == ("mystore", "second")
    assert bad.status_code == 404


def test_staff_may_diagnose(staff_session: APIClient, storefront: Storefront) -> None:
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain="mystore.com", custom_domain_verification_token="b" * 32
    )

    response = staff_session.post("/api/internal/store/storefront/domain/diagnose")

    assert response.status_code == 200
    assert response.json()["data"]["ownership"]["outcome"] in ("missing", "error")


def test_unpublishing_in_the_admin_stops_the_domain_at_once(storefront: Storefront, client) -> None:
    from django.test import Client

    from accounts.models import User

    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain="mystore.com",
        custom_domain_verification_token="c" * 32,
        custom_domain_verified=True,
    )
    store_host = Client(HTTP_HOST="mystore.com")
    assert store_host.get("/").status_code == 200
    client.force_login(User.objects.create_superuser("root@example.test", "pw"))

    client.post(
        f"/admin/storefronts/storefront/{quote(storefront.pk)}/change/",
        {
            "slug": "mystore",
            "title": "My Store",
            "description": "",
            "products-TOTAL_FORMS": "0",
            "products-INITIAL_FORMS": "0",
            "products-MIN_NUM_FORMS": "0",
            "products-MAX_NUM_FORMS": "1000",
            "domain_holds-TOTAL_FORMS": "0",
            "domain_holds-INITIAL_FORMS": "0",
            "domain_holds-MIN_NUM_FORMS": "0",
            "domain_holds-MAX_NUM_FORMS": "1000",
        },
    )

    assert Storefront.objects.get(pk=storefront.pk).published is False
    assert store_host.get("/").status_code == 404


def test_diagnose_of_a_stored_domain_that_no_longer_validates(
    v1: APIClient, storefront: Storefront
) -> None:
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain="my_shop.com", custom_domain_verification_token="d" * 32
    )

    response = v1.post(f"{URL}/domain/diagnose")

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_DOMAIN")
