"""The webhooks page in a real browser: create an endpoint, copy its secret with the Copy
button, and find the page usable at phone width."""

import re

import pytest

from tests.browser.conftest import overflowing, screenshot, sign_in
from tests.conftest import OrgTrio
from webhooks.models import WebhookEndpoint
from webhooks.services import signing_secrets


@pytest.mark.django_db(transaction=True)
def test_owner_creates_an_endpoint_and_copies_its_secret(page, live_server, trio: OrgTrio) -> None:
    from playwright.sync_api import expect  # after the fixtures: they skip without it

    sign_in(page, trio.owner)
    page.goto("/overview/webhooks")

    # An address, not "localhost": the receiver URL is resolved, and the sandbox has no DNS.
    receiver = live_server.url.replace("localhost", "127.0.0.1")
    page.get_by_label("Endpoint URL").fill(f"{receiver}/hooks/orders")
    page.get_by_role("checkbox", name=re.compile(r"^domain\.verified ")).check()
    page.get_by_role("button", name="Add endpoint").click()

    shown = page.locator("#shown-once-value")
    secret = shown.text_content()
    endpoint = WebhookEndpoint.objects.get(organization=trio.organization)
    assert secret == signing_secrets(endpoint)[0]
    assert endpoint.event_types == ["domain.verified"]
    # autofocus moves focus once the document has loaded: wait for it, fail if it never does.
    page.wait_for_function("document.activeElement.id === 'shown-once'")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "webhooks-created")

    page.goto("/overview/webhooks")
    assert secret not in page.content()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/overview/webhooks/{endpoint.pk}")
    assert overflowing(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "webhook-detail-phone")


@pytest.mark.django_db(transaction=True)
def test_api_keys_and_the_audit_log_on_a_phone(page, trio: OrgTrio) -> None:
    sign_in(page, trio.owner)
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto("/overview/api-keys")
    page.get_by_label("Name").fill("billing service")
    page.get_by_role("button", name="Create key").click()
    raw_key = page.locator("#shown-once-value").text_content()
    page.get_by_role("button", name="Copy").click()
    page.wait_for_function("document.querySelector('[data-copy]').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == raw_key
    assert overflowing(page) == []
    screenshot(page, "api-keys-phone")

    page.goto("/overview/audit?action=api_key.*")
    assert page.get_by_role("cell", name="api_key.created").is_visible()
    assert overflowing(page) == []
    screenshot(page, "audit-phone")
