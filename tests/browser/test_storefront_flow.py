"""An owner connects a custom domain in a real browser: sets it, copies the TXT record,
verifies too early (the contract's message and hint), publishes the record, verifies."""

import pytest

from storefronts.models import Storefront
from storefronts.services import store_create
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer

TXT_NOT_FOUND = "TXT record not found. DNS propagation can take up to 24 hours."


@pytest.mark.django_db(transaction=True)
def test_owner_sets_copies_and_verifies_a_custom_domain(
    page, trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    from playwright.sync_api import expect

    storefront = store_create(organization=trio.organization, name="My Store", slug="mystore")
    domain = f"{label}.example.test"
    sign_in(page, trio.owner)

    page.goto("/overview/storefront")
    expect(page.get_by_role("heading", name="Storefront", exact=True)).to_be_visible()
    expect(page.get_by_text("No custom domain.")).to_be_visible()
    screenshot(page, "storefront-1-no-domain")

    page.get_by_role("textbox", name="Custom domain").fill(domain)
    page.get_by_label("Published").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Storefront settings updated.")).to_be_visible()

    storefront.refresh_from_db()
    token_value = f"sendy-verify={storefront.custom_domain_verification_token}"
    records = page.get_by_role("table", name=f"DNS records for {domain}")
    routing, ownership = records.locator("tbody tr").all()
    expect(routing.locator("td[data-label=Type]")).to_have_text("CNAME")
    expect(routing.locator("td[data-label='Value'] code")).to_have_text("127.0.0.1")
    expect(ownership.locator("td[data-label='Host / Name'] code")).to_have_text(
        f"_sendy-verify.{domain}"
    )
    expect(ownership.locator("td[data-label='Value'] code")).to_have_text(token_value)

    copy = page.get_by_role("button", name="Copy TXT value")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token_value
    screenshot(page, "storefront-2-records")

    page.get_by_role("button", name="Verify domain").click()
    failure = page.get_by_role("alert")
    expect(failure).to_contain_text(TXT_NOT_FOUND)
    expect(failure).to_contain_text("Hint: token_missing")
    expect(failure).to_contain_text(token_value)  # the fix names the exact value to publish
    expect(failure).to_be_focused()
    expect(page.locator(".badge.pending")).to_have_text("Not verified")
    screenshot(page, "storefront-3-verify-failed")

    page.get_by_role("button", name="Diagnose").click()
    diagnosis = page.get_by_role("region", name="Ownership (TXT)")
    expect(diagnosis).to_contain_text("token_missing")
    expect(page.get_by_role("region", name="Routing (CNAME)")).to_be_visible()
    screenshot(page, "storefront-4-diagnosis")

    dns.set(f"_sendy-verify.{domain}", "TXT", f'"{token_value}"')
    page.get_by_role("button", name="Verify domain").click()
    expect(page.get_by_text("Custom domain verified successfully.")).to_be_visible()
    expect(page.locator(".badge.verified")).to_have_text("Verified")
    expect(page.get_by_role("button", name="Verify domain")).to_have_count(0)
    assert Storefront.objects.get(pk=storefront.pk).custom_domain_verified is True
    screenshot(page, "storefront-5-verified")

    page.set_viewport_size({"width": 390, "height": 844})
    expect(ownership.locator("td[data-label='Value'] code")).to_be_visible()
    screenshot(page, "storefront-6-verified-phone")
