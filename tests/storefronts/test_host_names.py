"""One normaliser for a store's domain on every HTTP path: however a registrar, a browser or a
person spells it, it is one name, stored once, and no spelling gets around a check."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import api_key_create
from storefronts.models import Storefront
from storefronts.services import store_create
from tests.conftest import OrgTrio
from tests.storefronts.conftest import verified

pytestmark = pytest.mark.django_db
SETTINGS = "/api/v1/store/storefront"
PUBLIC = "/api/v1/public/storefronts"
IDN_UNICODE = "mystöre.com"
IDN_ASCII = "xn--mystre-zxa.com"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("MyStore.COM.", "mystore.com"),
        ("mystore.com:443", "mystore.com"),
        ("  https://MyStore.com/shop  ", "mystore.com"),
        (IDN_UNICODE, IDN_ASCII),
        ("MYSTÖRE.COM", IDN_ASCII),
        (IDN_ASCII.upper(), IDN_ASCII),
        (f"{IDN_UNICODE}.:8443", IDN_ASCII),
    ],
)
def test_every_spelling_is_stored_as_one_name(
    v1: APIClient, storefront: Storefront, typed: str, stored: str
) -> None:
    response = v1.put(SETTINGS, {"customDomain": typed}, format="json")

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["customDomain"] == stored
    storefront.refresh_from_db()
    assert storefront.custom_domain == stored
    assert storefront.custom_domain_display == (IDN_UNICODE if stored == IDN_ASCII else stored)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("203.0.113.7", "IP_LITERAL"),
        ("[2001:db8::1]:443", "IP_LITERAL"),
        ("*.mystore.com", "WILDCARD"),
        ("co.uk", "PUBLIC_SUFFIX"),
        ("shop.domainkeeper.test", "RESERVED_TARGET"),  # under our own host
        ("api.domainkeeper.test", "RESERVED_TARGET"),  # our own host
        ("mystore.com:notaport", "INVALID_DOMAIN"),
    ],
)
def test_names_no_store_may_take(
    v1: APIClient, storefront: Storefront, settings, typed: str, code: str
) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "api.domainkeeper.test"]
    settings.CUSTOM_DOMAIN_TARGET = "domainkeeper.test"

    response = v1.put(SETTINGS, {"customDomain": typed}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert "customDomain" in response.json()["errors"]
    storefront.refresh_from_db()
    assert storefront.custom_domain is None


@pytest.mark.parametrize("spelling", ["MYSTORE.com.", "mystore.com:443", "MyStore.Com"])
def test_no_spelling_gets_around_a_verified_domain(
    trio: OrgTrio, storefront: Storefront, spelling: str
) -> None:
    verified(storefront)
    other = store_create(organization=trio.organization, name="Other", slug="other")
    client = APIClient()
    key = api_key_create(organization=trio.organization, name="k", created_by=trio.owner)
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {key.raw_key}", HTTP_X_STORE_ID=str(other.store_id)
    )

    response = client.put(SETTINGS, {"customDomain": spelling}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "CUSTOM_DOMAIN_TAKEN")


@pytest.mark.parametrize("spelling", [IDN_UNICODE, "MYSTÖRE.COM.", IDN_ASCII.upper()])
def test_no_spelling_of_an_idn_gets_around_its_verified_punycode(
    trio: OrgTrio, outsider_v1: APIClient, storefront: Storefront, spelling: str
) -> None:
    verified(storefront, IDN_ASCII)
    other = store_create(organization=trio.other_organization, name="Other", slug="other")

    response = outsider_v1.put(SETTINGS, {"customDomain": spelling}, format="json")

    assert (response.status_code, response.json().get("code")) == (409, "CUSTOM_DOMAIN_TAKEN")
    other.refresh_from_db()
    assert other.custom_domain is None


def test_the_database_refuses_any_other_form(storefront: Storefront) -> None:
    for spelling in ("MyStore.com", "mystore.com.", "mystore.com:443"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Storefront.objects.filter(pk=storefront.pk).update(custom_domain=spelling)


@pytest.fixture
def idn_store(storefront: Storefront) -> Storefront:
    return verified(storefront, IDN_ASCII)


@pytest.mark.parametrize("spelling", [IDN_UNICODE, IDN_ASCII, "MYSTÖRE.COM.", f"{IDN_ASCII}:443"])
def test_every_spelling_reaches_the_store(idn_store: Storefront, spelling: str) -> None:
    client = Client()

    public = client.get(f"{PUBLIC}/{spelling}")
    ask = client.get("/internal/tls/ask", {"domain": spelling})

    assert public.status_code == 200
    assert public.json()["data"]["slug"] == "mystore"
    assert ask.status_code == 200


@pytest.mark.parametrize(
    "host", [IDN_ASCII, IDN_ASCII.upper() + ".", f"{IDN_ASCII}:443", f"{IDN_ASCII.upper()}.:8443"]
)
def test_every_host_header_spelling_is_routed(idn_store: Storefront, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/api/v1/public/storefront")

    assert response.status_code == 200
    assert response.json()["data"]["slug"] == "mystore"


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("203.0.113.7", "IP_LITERAL"),
        ("[2001:db8::1]:443", "IP_LITERAL"),
        ("*.mystore.com", "WILDCARD"),
        ("co.uk", "PUBLIC_SUFFIX"),
    ],
)
def test_hosts_that_are_no_store_domain_are_refused_without_a_lookup(
    idn_store: Storefront, host: str, reason: str
) -> None:
    """The normaliser refuses them before any lookup, even with nothing remembered yet."""
    with CaptureQueriesContext(connection) as queries:
        routed = Client(HTTP_HOST=host).get("/")
        ask = Client().get("/internal/tls/ask", {"domain": host})

    assert routed.status_code == 404
    assert (ask.status_code, ask.json()) == (400, {"allowed": False, "reason": reason})
    assert queries.captured_queries == []


def test_our_own_hosts_are_never_a_store(storefront: Storefront, settings) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "app.domainkeeper.test"]

    ask = Client().get("/internal/tls/ask", {"domain": "app.domainkeeper.test"})

    assert (ask.status_code, ask.json()["reason"]) == (400, "RESERVED_TARGET")


def test_the_dashboard_shows_the_name_people_read(
    owner_session: Client, idn_store: Storefront
) -> None:
    page = owner_session.get("/overview/storefront").content.decode()

    assert f"<code>{IDN_UNICODE}</code>" in page
    assert f"(in DNS: <code>{IDN_ASCII}</code>)" in page
