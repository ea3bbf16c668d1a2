"""The dashboard's storefront page: settings, the two DNS records, verify and diagnose, as
the owner, as staff (read-only, refused on the server) and as another organization."""

import html

import pytest
from django.test import Client

from audit.models import AuditEvent
from storefronts.models import Storefront
from storefronts.services import store_create
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.storefronts.conftest import verify_txt

pytestmark = pytest.mark.django_db

PAGE = "/overview/storefront"
VERIFY = "/overview/storefront/verify"
DIAGNOSE = "/overview/storefront/diagnose"
TXT_NOT_FOUND = "TXT record not found. DNS propagation can take up to 24 hours."


def settings_post(**changes: str) -> dict[str, str]:
    """What the form posts: every field, as a browser sends them (an unticked box is absent)."""
    data = {"slug": "mystore", "published": "on", "custom_domain": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def copy_buttons(response) -> list[str]:
    """The exact texts the page's Copy buttons carry."""
    content = response.content.decode()
    parts = content.split('data-copy="')[1:]
    return [html.unescape(part.split('"', 1)[0]) for part in parts]


def with_domain(storefront: Storefront, domain: str) -> Storefront:
    from storefronts.services import storefront_update

    return storefront_update(storefront=storefront, custom_domain=domain)


# --- the owner ------------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, storefront: Storefront) -> None:
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_owner_sees_the_form_and_an_empty_domain_state(
    owner_session: Client, storefront: Storefront
) -> None:
    response = owner_session.get(PAGE)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"slug": "mystore", "published": True, "custom_domain": ""}
    assert b'<label for="id_custom_domain">Custom domain' in response.content
    assert b"No custom domain." in response.content
    assert b"Verify domain" not in response.content
    assert copy_buttons(response) == []


def test_owner_updates_slug_published_and_domain(
    owner_session: Client, storefront: Storefront
) -> None:
    response = owner_session.post(
        PAGE, settings_post(slug="new-shop", published=None, custom_domain=" Shop.Example.TEST. ")
    )

    assert (response.status_code, response["Location"]) == (302, PAGE)
    storefront.refresh_from_db()
    assert (storefront.slug, storefront.published, storefront.custom_domain) == (
        "new-shop",
        False,
        "shop.example.test",
    )
    assert len(storefront.custom_domain_verification_token) == 32
    page = owner_session.get(PAGE)
    assert b"Storefront settings updated." in page.content
    assert b'<span class="badge pending">Not verified</span>' in page.content
    updated = AuditEvent.objects.filter(action="storefront.updated").latest("sequence")
    assert updated.changes["slug"] == ["mystore", "new-shop"]


def test_the_records_are_the_services_own_with_exact_copy_texts(
    owner_session: Client, storefront: Storefront
) -> None:
    owner_session.post(PAGE, settings_post(custom_domain="shop.example.test"))
    storefront.refresh_from_db()
    token = storefront.custom_domain_verification_token

    response = owner_session.get(PAGE)

    assert copy_buttons(response) == [
        "shop.example.test",
        "127.0.0.1",  # CUSTOM_DOMAIN_TARGET: the host of BACKEND_BASE_URL in tests
        "_sendy-verify.shop.example.test",
        f"sendy-verify={token}",
    ]
    assert b'aria-label="Copy TXT value"' in response.content
    assert b'aria-label="Copy CNAME host"' in response.content


def test_an_apex_domain_gets_a_records_for_each_target_address(
    owner_session: Client, storefront: Storefront, settings
) -> None:
    settings.CUSTOM_DOMAIN_TARGET_IPS = ["192.0.2.10", "192.0.2.11"]
    owner_session.post(PAGE, settings_post(custom_domain="mystore.com"))
    storefront.refresh_from_db()

    response = owner_session.get(PAGE)

    assert copy_buttons(response) == [
        "mystore.com",
        "192.0.2.10",
        "192.0.2.11",
        "www.mystore.com",  # its `www` pair: a CNAME to our target
        "127.0.0.1",
        "_sendy-verify.mystore.com",
        f"sendy-verify={storefront.custom_domain_verification_token}",
    ]
    assert b'<td data-label="Type">A</td>' in response.content


def test_an_empty_domain_clears_it(owner_session: Client, storefront: Storefront) -> None:
    with_domain(storefront, "mystore.com")

    response = owner_session.post(PAGE, settings_post(custom_domain=""))

    assert response.status_code == 302
    storefront.refresh_from_db()
    assert (storefront.custom_domain, storefront.custom_domain_verification_token) == (None, None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("custom_domain", "not a domain", None),
        ("custom_domain", "co.uk", None),
        ("custom_domain", "1.2.3.4", "Enter a domain name, not an IP address."),
        ("slug", "no spaces here", "Use up to 100 letters, digits, hyphens and underscores"),
        ("slug", "", "This field is required."),
    ],
)
def test_invalid_input_is_shown_next_to_its_field(
    owner_session: Client, storefront: Storefront, field: str, value: str, message: str | None
) -> None:
    response = owner_session.post(PAGE, settings_post(**{field: value}))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    if message:
        assert errors[field][0].startswith(message)
    assert f'id="id_{field}_error"'.encode() in response.content
    tag = response.content.decode().split(f'name="{field}"', 1)[1].split(">", 1)[0]
    assert " autofocus" in tag
    assert 'aria-invalid="true"' in tag
    assert Storefront.objects.get(pk=storefront.pk).slug == "mystore"
    assert Storefront.objects.get(pk=storefront.pk).custom_domain is None


def test_a_slug_another_store_uses_is_taken(
    owner_session: Client, storefront: Storefront, trio: OrgTrio
) -> None:
    store_create(organization=trio.other_organization, name="Other", slug="other")

    response = owner_session.post(
        PAGE, settings_post(slug="other", custom_domain="shop.example.test")
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"slug": ["This slug is taken."]}
    storefront.refresh_from_db()
    assert (storefront.slug, storefront.custom_domain) == ("mystore", None)


def test_a_domain_another_store_verified_is_taken(
    owner_session: Client, storefront: Storefront, trio: OrgTrio
) -> None:
    other = store_create(organization=trio.other_organization, name="Other", slug="other")
    Storefront.objects.filter(pk=other.pk).update(
        custom_domain="mystore.com", custom_domain_verified=True
    )

    response = owner_session.post(PAGE, settings_post(custom_domain="mystore.com"))

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "custom_domain": ["This domain is already in use by another store."]
    }
    assert Storefront.objects.get(pk=storefront.pk).custom_domain is None


def test_verify_failure_shows_the_contract_message_and_hint(
    owner_session: Client, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    domain = f"{label}.example.test"
    storefront = with_domain(storefront, domain)

    response = owner_session.post(VERIFY)

    assert response.status_code == 422
    content = response.content.decode()
    assert f"<strong>{TXT_NOT_FOUND}</strong>" in content
    assert "Hint: <code>token_missing</code>" in content
    error = response.context["verify_error"]
    assert error.code == "DNS_TXT_NOT_FOUND"
    assert html.escape(error.extra["fix"]) in content
    assert f"sendy-verify={storefront.custom_domain_verification_token}" in error.extra["fix"]
    assert Storefront.objects.get(pk=storefront.pk).custom_domain_verified is False


def test_verify_of_an_old_token_names_the_mismatch(
    owner_session: Client, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    storefront = with_domain(storefront, f"{label}.example.test")
    stale = '"sendy-verify=00000000000000000000000000000000"'
    dns.set(f"_sendy-verify.{label}.example.test", "TXT", stale)

    response = owner_session.post(VERIFY)

    assert response.status_code == 422
    assert f"<strong>{TXT_NOT_FOUND}</strong>".encode() in response.content
    assert b"Hint: <code>token_mismatch</code>" in response.content
    assert b"Found there now: <code>sendy-verify=00000000000000000000000000000000" in (
        response.content
    )


def test_verify_succeeds_once_the_txt_is_published(
    owner_session: Client, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    storefront = with_domain(storefront, f"{label}.example.test")
    verify_txt(dns, storefront)

    response = owner_session.post(VERIFY)

    assert (response.status_code, response["Location"]) == (302, PAGE)
    storefront.refresh_from_db()
    assert storefront.custom_domain_verified is True
    page = owner_session.get(PAGE)
    assert b"Custom domain verified successfully." in page.content
    assert b'<span class="badge verified">Verified</span>' in page.content
    stamp = storefront.custom_domain_verified_at.isoformat()
    assert f'<time datetime="{stamp}">'.encode() in page.content
    assert b"Verify domain" not in page.content


def test_verify_without_a_domain_says_so(owner_session: Client, storefront: Storefront) -> None:
    response = owner_session.post(VERIFY)

    assert response.status_code == 400
    assert b"No custom domain or verification token configured." in response.content


def test_diagnose_shows_what_dns_sees_per_record(
    owner_session: Client, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    with_domain(storefront, f"shop.{label}.example.test")
    dns.set(f"shop.{label}.example.test", "CNAME", "elsewhere.example.net.")

    response = owner_session.post(DIAGNOSE)

    assert response.status_code == 200
    diagnosis = response.context["diagnosis"]
    assert (diagnosis.ownership.hint, diagnosis.routing.hint) == ("token_missing", "wrong_target")
    content = response.content.decode()
    assert "Hint: <code>token_missing</code>" in content
    assert "Hint: <code>wrong_target</code>" in content
    assert "<code>elsewhere.example.net</code>" in content
    assert html.escape(diagnosis.routing.fix) in content
    assert "nothing there either" in content  # the zone's own servers lack the TXT too


def test_diagnose_counts_against_the_organizations_budget(
    owner_session: Client, storefront: Storefront, dns: KnotServer, label: str, settings
) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | {"diagnose": "1/min"}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": rates}
    with_domain(storefront, f"{label}.example.test")

    first, second = owner_session.post(DIAGNOSE), owner_session.post(DIAGNOSE)

    assert (first.status_code, second.status_code) == (200, 429)
    assert b"Diagnose ran many times in the last minute" in second.content


# --- staff: read-only, refused on the server ------------------------------------------------


def test_staff_sees_the_page_read_only(staff_session: Client, storefront: Storefront) -> None:
    storefront = with_domain(storefront, "shop.example.test")

    response = staff_session.get(PAGE)

    assert response.status_code == 200
    assert response.context["form"] is None
    content = response.content.decode()
    assert f'action="{PAGE}"' not in content
    assert "Verify domain" not in content
    assert "Only an owner of Acme can change these." in content
    assert f"sendy-verify={storefront.custom_domain_verification_token}" in copy_buttons(response)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (PAGE, settings_post(slug="taken-over", published=None, custom_domain="evil.example")),
        (PAGE, settings_post(custom_domain="")),
        (VERIFY, {}),
    ],
)
def test_staff_posts_are_refused_and_change_nothing(
    staff_session: Client, storefront: Storefront, trio: OrgTrio, path: str, data: dict[str, str]
) -> None:
    storefront = with_domain(storefront, "shop.example.test")
    before = Storefront.objects.filter(pk=storefront.pk).values().get()

    response = staff_session.post(path, data)

    assert response.status_code == 403
    assert Storefront.objects.filter(pk=storefront.pk).values().get() == before
    denial = AuditEvent.objects.filter(action="authorization.denied").latest("sequence")
    assert denial.metadata["permission"] == "store.storefront.manage"
    assert denial.organization_id == trio.organization.pk


def test_staff_may_diagnose_as_through_the_api_and_it_changes_nothing(
    staff_session: Client, storefront: Storefront, dns: KnotServer, label: str
) -> None:
    storefront = with_domain(storefront, f"{label}.example.test")
    before = Storefront.objects.filter(pk=storefront.pk).values().get()

    response = staff_session.post(DIAGNOSE)

    assert response.status_code == 200
    assert response.context["diagnosis"].ownership.hint == "token_missing"
    assert Storefront.objects.filter(pk=storefront.pk).values().get() == before


# --- another organization ---------------------------------------------------------------------


def test_an_organization_without_a_store_sees_the_empty_state(
    outsider_session: Client, storefront: Storefront
) -> None:
    storefront = with_domain(storefront, "shop.example.test")

    response = outsider_session.get(PAGE)

    assert response.status_code == 200
    content = response.content.decode()
    assert "This organization has no store yet." in content
    assert "mystore" not in content
    assert "shop.example.test" not in content
    assert storefront.custom_domain_verification_token not in content


def test_another_organization_sees_and_changes_only_its_own(
    outsider_session: Client, storefront: Storefront, trio: OrgTrio
) -> None:
    storefront = with_domain(storefront, "shop.example.test")
    theirs = store_create(organization=trio.other_organization, name="Globex", slug="globex")
    before = Storefront.objects.filter(pk=storefront.pk).values().get()

    page = outsider_session.get(PAGE)
    saved = outsider_session.post(
        PAGE, settings_post(slug="globex", custom_domain="globex.example.test")
    )
    verified = outsider_session.post(VERIFY)

    assert page.context["storefront"].pk == theirs.pk
    assert b"mystore" not in page.content
    assert b"shop.example.test" not in page.content
    assert saved.status_code == 302
    assert verified.status_code == 503  # about their own domain: DNS answers nobody here
    assert verified.context["storefront"].pk == theirs.pk
    assert Storefront.objects.get(pk=theirs.pk).custom_domain == "globex.example.test"
    assert Storefront.objects.filter(pk=storefront.pk).values().get() == before


def test_outsider_posts_without_a_store_change_nothing(
    outsider_session: Client, storefront: Storefront
) -> None:
    storefront = with_domain(storefront, "shop.example.test")
    before = Storefront.objects.filter(pk=storefront.pk).values().get()

    responses = [
        outsider_session.post(PAGE, settings_post(custom_domain="x.example.test")),
        outsider_session.post(VERIFY),
        outsider_session.post(DIAGNOSE),
    ]

    assert [r.status_code for r in responses] == [404, 302, 302]
    assert b"This organization has no store yet." in responses[0].content
    assert Storefront.objects.filter(pk=storefront.pk).values().get() == before
