"""A store owner in a real browser: signs in, adds a sending domain, copies a record from the
card, publishes the records in the loopback DNS server, and watches the card turn verified
while the page stays loaded (the background poll, here through its cron endpoint, does the
checking). An outsider cannot open the domain."""

import re

import pytest
import requests

from domains.models import SendingDomain
from domains.services import sending_domain_create
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import OrgTrio
from tests.dns_server import publish_records

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_adds_a_domain_copies_its_records_and_sees_it_verify_without_reloading(
    page, live_server, trio: OrgTrio, dns, label: str, settings
) -> None:
    from playwright.sync_api import expect  # after the fixtures: they skip without it

    settings.CRON_SECRET = "browser-test-cron-secret"
    name = f"mail.{label}.example.test"

    sign_in(page, trio.owner)
    expect(page).to_have_url(f"{live_server.url}/overview/domains")
    expect(page.get_by_role("heading", name="No sending domains yet")).to_be_visible()
    screenshot(page, "domains-empty")

    page.get_by_role("textbox", name="Domain").fill(name)
    page.get_by_role("button", name="Add domain").click()
    expect(page).to_have_url(re.compile(r"/overview/domains/dom_\w+$"))
    domain = SendingDomain.objects.get(name=name)
    expect(page).to_have_url(f"{live_server.url}/overview/domains/{domain.pk}")

    card = page.locator("#domain-card")
    expect(card.locator("[data-status]")).to_have_text("Pending")
    expect(card.locator("[data-progress]")).to_have_text("0 of 3 records verified")
    records = list(domain.records.all())
    expect(card.locator("tr[data-record]")).to_have_count(len(records))

    dkim = next(r for r in records if r.purpose == "dkim")
    card.get_by_role("button", name="Copy value of the dkim record").click()
    expect(card.get_by_role("button", name="Copy value of the dkim record")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == dkim.value
    card.get_by_role("button", name="Copy host of the dkim record").click()
    expect(card.get_by_role("button", name="Copy host of the dkim record")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == dkim.host
    screenshot(page, "domain-pending-card")

    page.evaluate("window.stillTheSamePage = true")
    publish_records(dns, domain)
    # What an external scheduler (or beat) runs every minute; the domain is due now.
    answer = requests.post(
        f"{live_server.url}/api/cron/domain-verify-poll",
        headers={"Authorization": f"Bearer {settings.CRON_SECRET}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text

    expect(card.locator("[data-status]")).to_have_text("Verified", timeout=15_000)
    fresh_card = page.locator("#domain-card")
    expect(fresh_card.locator("[data-progress]")).to_have_text("3 of 3 records verified")
    # The verified card no longer refreshes itself.
    assert fresh_card.evaluate("card => card.hasAttribute('data-refresh-url')") is False
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "domain-verified-card")


def test_a_wrong_record_shows_its_hint_and_fix_on_the_card(
    page, live_server, trio: OrgTrio, dns, label: str
) -> None:
    from playwright.sync_api import expect  # after the fixtures: they skip without it

    name = f"send.{label}.example.test"
    sign_in(page, trio.owner)
    page.get_by_role("textbox", name="Domain").fill(name)
    page.get_by_role("button", name="Add domain").click()
    expect(page).to_have_url(re.compile(r"/overview/domains/dom_\w+$"))
    domain = SendingDomain.objects.get(name=name)
    spf = domain.records.get(purpose="spf")
    dns.set(spf.hostname, "TXT", '"v=spf1 include:someone-else.test ~all"')

    page.get_by_role("button", name="Verify now").click()

    hint = page.locator('[data-hint-for="spf"]')
    expect(hint).to_contain_text("spf_include_missing")
    expect(hint).to_contain_text("v=spf1 include:someone-else.test ~all")
    screenshot(page, "domain-hint")


def test_an_outsider_cannot_open_another_organizations_domain(
    page, live_server, trio: OrgTrio
) -> None:
    from playwright.sync_api import expect  # after the fixtures: they skip without it

    domain = SendingDomain.objects.create(
        organization=trio.organization,
        name="secret.acme.test",
        display_name="secret.acme.test",
        provider="local",
        region="us-east-1",
    )

    sign_in(page, trio.outsider)
    expect(page.get_by_text("secret.acme.test")).to_have_count(0)
    response = page.goto(f"/overview/domains/{domain.pk}")
    assert response.status == 404
    expect(page.get_by_text("secret.acme.test")).to_have_count(0)
    screenshot(page, "outsider-404")


def test_the_domain_pages_fit_a_phone_screen(browser, live_server, trio: OrgTrio) -> None:
    from playwright.sync_api import expect  # after the fixtures: they skip without it

    domain = sending_domain_create(organization=trio.organization, name="mail.acme.test")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    phone = context.new_page()
    try:
        sign_in(phone, trio.owner)
        for url, name in (
            ("/overview/domains", "phone-domains"),
            (f"/overview/domains/{domain.pk}", "phone-domain-card"),
        ):
            phone.goto(url)
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px on a phone"
            screenshot(phone, name)
        expect(phone.get_by_role("button", name="Verify now")).to_be_visible()
    finally:
        context.close()


def test_a_card_whose_session_ended_says_so_and_keeps_its_records(
    page, live_server, trio: OrgTrio
) -> None:
    from playwright.sync_api import expect  # after the fixtures: they skip without it

    domain = sending_domain_create(organization=trio.organization, name="mail.acme.test")
    sign_in(page, trio.owner)
    page.goto(f"/overview/domains/{domain.pk}")
    card = page.locator("#domain-card")
    expect(card.locator("tr[data-record]")).to_have_count(domain.records.count())

    page.context.clear_cookies()  # signed out elsewhere, or the session expired

    expect(card.get_by_role("alert")).to_contain_text("stopped updating", timeout=15_000)
    expect(card.locator("tr[data-record]")).to_have_count(domain.records.count())
