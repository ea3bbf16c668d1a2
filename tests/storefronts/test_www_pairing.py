"""`www` pairing: an apex domain is served at `www.<apex>` too (and `www.<apex>` at its apex),
the other name redirecting to the owner's primary host; both names are one site, held by one
store; the DNS instructions, diagnose and the TLS ask know both."""

import importlib
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from storefronts.models import Storefront
from storefronts.services import store_create, storefront_set_primary_host
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.storefronts.conftest import verified, verify_txt

pytestmark = pytest.mark.django_db
URL = "/api/v1/store/storefront"
PUBLIC = "/api/v1/public/storefronts"


def pairing(storefront: Storefront) -> tuple:
    storefront.refresh_from_db()
    return (
        storefront.custom_domain,
        storefront.custom_domain_pair,
        storefront.custom_domain_site,
        storefront.primary_host,
    )


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        ("MyStore.COM.", ("mystore.com", "www.mystore.com", "mystore.com", "mystore.com")),
        ("www.mystore.com", ("www.mystore.com", "mystore.com", "mystore.com", "www.mystore.com")),
        (
            "WWW.MyStore.co.uk:443",
            ("www.mystore.co.uk", "mystore.co.uk", "mystore.co.uk", "www.mystore.co.uk"),
        ),
        ("shop.mystore.com", ("shop.mystore.com", None, "shop.mystore.com", "shop.mystore.com")),
        (
            "mystöre.com",
            (
                "xn--mystre-zxa.com",
                "www.xn--mystre-zxa.com",
                "xn--mystre-zxa.com",
                "xn--mystre-zxa.com",
            ),
        ),
    ],
)
def test_saving_a_domain_pairs_an_apex_and_its_www(
    v1: APIClient, storefront: Storefront, entered: str, expected: tuple
) -> None:
    """The primary host is the name entered until the owner switches it."""
    response = v1.put(URL, {"customDomain": entered}, format="json")

    assert response.status_code == 200
    assert pairing(storefront) == expected


def test_entering_the_www_name_offers_the_apex_as_the_pair(
    v1: APIClient, storefront: Storefront, trio: OrgTrio
) -> None:
    saved = v1.put(URL, {"customDomain": "www.mystore.com"}, format="json")
    shown = v1.get(f"{URL}/domain")
    client = Client()
    client.force_login(trio.owner)
    page = client.get("/overview/storefront").content.decode()

    assert (saved.status_code, shown.status_code) == (200, 200)
    data = shown.json()["data"]
    assert (data["customDomain"], data["customDomainPair"], data["primaryHost"]) == (
        "www.mystore.com",
        "mystore.com",
        "www.mystore.com",
    )
    assert "<dt>Also answers at</dt><dd><code>mystore.com</code></dd>" in page


def test_a_www_of_a_subdomain_is_not_paired(v1: APIClient, storefront: Storefront) -> None:
    v1.put(URL, {"customDomain": "www.shop.mystore.com"}, format="json")

    assert pairing(storefront) == (
        "www.shop.mystore.com",
        None,
        "www.shop.mystore.com",
        "www.shop.mystore.com",
    )


def test_clearing_the_domain_clears_the_pair(v1: APIClient, storefront: Storefront) -> None:
    v1.put(URL, {"customDomain": "mystore.com"}, format="json")
    v1.put(URL, {"customDomain": None}, format="json")

    assert pairing(storefront) == (None, None, None, None)


# --- one site, one store -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "entered"),
    [
        ("mystore.com", "www.mystore.com"),
        ("www.mystore.com", "mystore.com"),
        ("mystore.com", "WWW.MyStore.com."),
    ],
)
def test_either_name_of_a_verified_site_is_taken(
    v1: APIClient, storefront: Storefront, trio: OrgTrio, held: str, entered: str
) -> None:
    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    verified(other, held)

    response = v1.put(URL, {"customDomain": entered}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "CUSTOM_DOMAIN_TAKEN")
    assert pairing(storefront)[0] is None


def test_a_subdomain_of_a_paired_site_is_its_own_site(
    v1: APIClient, storefront: Storefront, trio: OrgTrio
) -> None:
    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    verified(other, "mystore.com")

    assert v1.put(URL, {"customDomain": "shop.mystore.com"}, format="json").status_code == 200


def test_the_second_store_to_verify_either_name_of_a_site_is_refused(
    v1: APIClient,
    outsider_v1: APIClient,
    storefront: Storefront,
    trio: OrgTrio,
    dns: KnotServer,
    label: str,
) -> None:
    """Both stores claimed a name of the same site while neither was verified (a claim
    blocks nobody); the first to verify holds the site. The second's TXT record is right,
    but verifying it would be a reclaim, and the holder's record is still published."""
    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    other_v1 = outsider_v1
    v1.put(URL, {"customDomain": f"{label}.test"}, format="json")
    other_v1.put(URL, {"customDomain": f"www.{label}.test"}, format="json")
    storefront.refresh_from_db()
    other.refresh_from_db()
    verify_txt(dns, other)
    verify_txt(dns, storefront)

    first = other_v1.post(f"{URL}/domain/verify")
    second = v1.post(f"{URL}/domain/verify")

    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (409, "CUSTOM_DOMAIN_TAKEN")
    assert second.json()["reclaim"]["missing"] == ["removeOtherRecord"]
    storefront.refresh_from_db()
    assert storefront.custom_domain_verified is False


def test_the_database_holds_a_verified_site_to_one_store(
    storefront: Storefront, trio: OrgTrio
) -> None:
    """Under every check: the unique index on verified sites (storefront_verified_site_once)
    refuses a second store verified at the other name of a site."""
    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    verified(other, "mystore.com")
    second = Storefront.objects.filter(pk=storefront.pk)
    www = {
        "custom_domain": "www.mystore.com",
        "custom_domain_pair": "mystore.com",
        "custom_domain_site": "mystore.com",
        "custom_domain_verification_token": "b" * 32,
    }

    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        second.update(**www, custom_domain_verified=True)

    assert "custom_domain_site" in str(refused.value), str(refused.value)
    assert second.update(**www) == 1  # unverified, it blocks nobody
    Storefront.objects.filter(pk=other.pk).update(custom_domain_verified=False)
    assert second.update(custom_domain_verified=True) == 1  # the site is free now


# --- serving both names --------------------------------------------------------------------


@pytest.fixture
def live(storefront: Storefront) -> Storefront:
    return verified(storefront, "mystore.com")


def test_the_pair_redirects_to_the_primary_host(live: Storefront) -> None:
    response = Client(HTTP_HOST="www.mystore.com").get("/api/v1/public/storefront?lang=en")

    assert response.status_code == 301
    assert response["Location"] == "http://mystore.com/api/v1/public/storefront?lang=en"
    assert Client(HTTP_HOST="mystore.com").get("/api/v1/public/storefront").status_code == 200


def test_the_redirect_keeps_https_and_a_port(live: Storefront) -> None:
    secure = Client(HTTP_HOST="WWW.mystore.com:8443").get("/", secure=True)

    assert (secure.status_code, secure["Location"]) == (301, "https://mystore.com:8443/")


def test_the_redirect_goes_straight_to_https_when_we_serve_https(
    live: Storefront, settings
) -> None:
    settings.SECURE_SSL_REDIRECT = True

    response = Client(HTTP_HOST="www.mystore.com:80").get("/")

    assert (response.status_code, response["Location"]) == (301, "https://mystore.com/")


def test_a_form_post_to_the_pair_keeps_its_method(live: Storefront) -> None:
    response = Client(HTTP_HOST="www.mystore.com").post("/api/v1/public/storefront/orders/otp")

    assert (response.status_code, response["Location"]) == (
        308,
        "http://mystore.com/api/v1/public/storefront/orders/otp",
    )


def test_switching_the_primary_host_reverses_the_redirect(live: Storefront) -> None:
    storefront_set_primary_host(storefront=live, host="WWW.MyStore.com.")

    apex = Client(HTTP_HOST="mystore.com").get("/")
    www = Client(HTTP_HOST="www.mystore.com").get("/")

    assert (apex.status_code, apex["Location"]) == (301, "http://www.mystore.com/")
    assert www.status_code == 200
    event = AuditEvent.objects.get(action="storefront.updated")
    assert event.changes == {"primary_host": ["mystore.com", "www.mystore.com"]}


def test_a_primary_host_must_be_one_of_the_two_names(live: Storefront) -> None:
    from config.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as refused:
        storefront_set_primary_host(storefront=live, host="shop.mystore.com")

    assert refused.value.code == "INVALID_PRIMARY_HOST"
    assert "mystore.com or www.mystore.com" in refused.value.message


def test_the_public_api_and_the_tls_ask_know_both_names(live: Storefront) -> None:
    client = Client()

    by_pair = client.get(f"{PUBLIC}/www.mystore.com")
    ask_apex = client.get("/internal/tls/ask", {"domain": "mystore.com"})
    ask_www = client.get("/internal/tls/ask", {"domain": "WWW.mystore.com."})
    ask_other = client.get("/internal/tls/ask", {"domain": "shop.mystore.com"})

    assert by_pair.json()["data"]["slug"] == "mystore"
    assert by_pair.json()["data"]["customDomain"] == "mystore.com"
    assert (ask_apex.status_code, ask_www.status_code, ask_other.status_code) == (200, 200, 404)


def test_an_unverified_domains_pair_is_served_nowhere(
    v1: APIClient, storefront: Storefront
) -> None:
    v1.put(URL, {"customDomain": "mystore.com"}, format="json")

    assert Client().get("/internal/tls/ask", {"domain": "www.mystore.com"}).status_code == 404
    assert Client(HTTP_HOST="www.mystore.com").get("/").status_code == 404


def test_changing_the_domain_forgets_the_old_pair(v1: APIClient, live: Storefront) -> None:
    client = Client()
    assert client.get("/internal/tls/ask", {"domain": "www.mystore.com"}).status_code == 200

    v1.put(URL, {"customDomain": "other-shop.com"}, format="json")

    assert client.get("/internal/tls/ask", {"domain": "www.mystore.com"}).status_code == 404
    assert Client(HTTP_HOST="www.mystore.com").get("/").status_code == 404


# --- DNS instructions and diagnose -----------------------------------------------------------


class DnsRecordsTable(HTMLParser):
    """The rows of the dashboard's DNS records table, each cell by its `data-label`: the
    values to copy where the cell has them (<code>), else its text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.in_table = False
        self.cell: str | None = None
        self.text: list[str] = []
        self.codes: list[str] = []
        self.in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and "dns-records" in (attributes.get("class") or "").split():
            self.in_table = True
        elif self.in_table and tag == "tr":
            self.rows.append({})
        elif self.in_table and tag == "td":
            self.cell, self.text, self.codes = attributes["data-label"], [], []
        elif self.cell and tag == "code":
            self.in_code = True
            self.codes.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.in_table = False
        elif tag == "code":
            self.in_code = False
        elif tag == "td" and self.cell:
            text = " ".join(self.codes) if self.codes else " ".join("".join(self.text).split())
            self.rows[-1][self.cell] = text
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.in_code:
            self.codes[-1] += data
        elif self.cell:
            self.text.append(data)


def dns_records(page: str) -> list[dict[str, str]]:
    table = DnsRecordsTable()
    table.feed(page)
    return [row for row in table.rows if row]  # the header row has no cells


def test_the_dns_instructions_include_the_pairs_record(
    v1: APIClient, storefront: Storefront, trio: OrgTrio, settings
) -> None:
    settings.CUSTOM_DOMAIN_TARGET_IPS = ["192.0.2.10"]
    v1.put(URL, {"customDomain": "mystore.com"}, format="json")
    client = Client()
    client.force_login(trio.owner)

    page = client.get("/overview/storefront").content.decode()

    rows = {row["Host / Name"]: row for row in dns_records(page)}
    assert rows["mystore.com"] == {
        "Purpose": "Routing",
        "Type": "A",
        "Host / Name": "mystore.com",
        "Value": "192.0.2.10",
        "Checked on verify": "No: it makes the domain serve your storefront",
    }
    assert rows["www.mystore.com"] == {
        "Purpose": "Routing (www.mystore.com)",
        "Type": "CNAME",
        "Host / Name": "www.mystore.com",
        "Value": "127.0.0.1",
        "Checked on verify": "No: it makes the domain serve your storefront",
    }


def test_diagnose_checks_the_pairs_routing_record(
    v1: APIClient, storefront: Storefront, dns: KnotServer, label: str, settings
) -> None:
    settings.CUSTOM_DOMAIN_TARGET_IPS = ["192.0.2.10"]
    v1.put(URL, {"customDomain": f"{label}.test"}, format="json")
    dns.set(f"{label}.test", "A", "192.0.2.10")
    dns.set(f"www.{label}.test", "CNAME", "elsewhere.example.net.")

    data = v1.post(f"{URL}/domain/diagnose").json()["data"]

    assert (data["routing"]["type"], data["routing"]["outcome"]) == ("A", "ok")
    assert data["pairRouting"]["type"] == "CNAME"
    assert data["pairRouting"]["hostname"] == f"www.{label}.test"
    assert data["pairRouting"]["outcome"] != "ok"
    assert data["pairRouting"]["seenValue"] == "elsewhere.example.net"


def test_diagnose_of_an_unpaired_domain_has_no_pair(
    v1: APIClient, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    v1.put(URL, {"customDomain": f"shop.{label}.example.test"}, format="json")

    assert v1.post(f"{URL}/domain/diagnose").json()["data"]["pairRouting"] is None


# --- the dashboard ---------------------------------------------------------------------------


def test_the_owner_switches_the_primary_host_on_the_dashboard(
    live: Storefront, trio: OrgTrio
) -> None:
    client = Client()
    client.force_login(trio.owner)
    page = client.get("/overview/storefront").content.decode()
    assert "Also answers at" in page and "Serve the storefront at" in page

    response = client.post("/overview/storefront/primary-host", {"host": "www.mystore.com"})
    refused = client.post("/overview/storefront/primary-host", {"host": "evil.example"})

    assert response.status_code == 302
    live.refresh_from_db()
    assert live.primary_host == "www.mystore.com"
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


def test_staff_cannot_switch_the_primary_host(live: Storefront, trio: OrgTrio) -> None:
    client = Client()
    client.force_login(trio.staff)

    response = client.post("/overview/storefront/primary-host", {"host": "www.mystore.com"})

    assert response.status_code == 403
    live.refresh_from_db()
    assert live.primary_host == "mystore.com"


# --- stored domains from before pairing --------------------------------------------------------


def test_the_migration_pairs_stored_domains_unless_two_stores_hold_the_names(
    storefront: Storefront, trio: OrgTrio
) -> None:
    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    third = store_create(organization=trio.other_organization, name="Third", slug="third")
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain="mystore.com", custom_domain_verified=True
    )
    Storefront.objects.filter(pk=other.pk).update(
        custom_domain="www.mystore.com", custom_domain_verified=True
    )
    Storefront.objects.filter(pk=third.pk).update(custom_domain="third.com")
    migration = importlib.import_module("storefronts.migrations.0003_www_pair")

    migration.pair_stored_domains(apps, None)

    assert pairing(storefront)[:3] == ("mystore.com", None, "mystore.com")
    assert pairing(other)[:3] == ("www.mystore.com", None, "www.mystore.com")
    assert pairing(third)[:3] == ("third.com", "www.third.com", "third.com")


# --- the API ---------------------------------------------------------------------------------


def test_the_domain_endpoint_shows_and_switches_the_primary_host(
    v1: APIClient, live: Storefront
) -> None:
    shown = v1.get(f"{URL}/domain").json()["data"]
    switched = v1.patch(f"{URL}/domain", {"primaryHost": "WWW.mystore.com."}, format="json")
    refused = v1.patch(f"{URL}/domain", {"primaryHost": "other.com"}, format="json")
    unknown = v1.patch(f"{URL}/domain", {"primary": "www.mystore.com"}, format="json")

    assert (shown["customDomainPair"], shown["primaryHost"]) == ("www.mystore.com", "mystore.com")
    assert switched.status_code == 200
    assert switched.json()["message"] == "Primary host updated."
    assert switched.json()["data"]["primaryHost"] == "www.mystore.com"
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_PRIMARY_HOST")
    assert refused.json()["errors"] == {"primaryHost": ["Choose mystore.com or www.mystore.com."]}
    assert unknown.status_code == 400
    assert Client(HTTP_HOST="mystore.com").get("/")["Location"] == "http://www.mystore.com/"


def test_staff_see_the_primary_host_but_cannot_switch_it(
    staff_session: APIClient, live: Storefront
) -> None:
    internal = "/api/internal/store/storefront/domain"

    assert staff_session.get(internal).json()["data"]["primaryHost"] == "mystore.com"
    refused = staff_session.patch(internal, {"primaryHost": "www.mystore.com"}, format="json")

    assert refused.status_code == 403
    live.refresh_from_db()
    assert live.primary_host == "mystore.com"
