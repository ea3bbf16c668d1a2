"""The storefront admin's re-verify action: an unverified custom domain verifies once its
TXT token is published; a verified one gets its periodic re-check now."""

import re

import pytest

from audit.models import AuditEvent
from storefronts.models import Store, Storefront
from storefronts.services import storefront_update
from tests.dns_server import KnotServer
from tests.storefronts.conftest import verify_txt
from tests.test_admin import run_action, superuser_client, text
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _claimed(storefront: Storefront, label: str) -> Storefront:
    return storefront_update(storefront=storefront, custom_domain=f"shop.{label}.example.test")


def test_reverify_verifies_a_published_domain(
    storefront: Storefront, dns: KnotServer, label: str
) -> None:
    storefront = _claimed(storefront, label)
    verify_txt(dns, storefront)

    page = text(run_action(superuser_client(), Storefront, "reverify_custom_domain", [storefront]))

    storefront.refresh_from_db()
    assert storefront.custom_domain_verified
    assert f"Verified: 1 ({storefront.custom_domain})" in page
    assert AuditEvent.objects.filter(action="storefront.domain_verified").count() == 1
    assert WebhookEvent.objects.filter(type="storefront.domain_verified").count() == 1


def test_reverify_explains_what_it_skipped(
    storefront: Storefront, dns: KnotServer, label: str
) -> None:
    bare = Storefront.objects.get(pk=storefront.pk)
    store = Store.objects.create(organization=storefront.store.organization, name="Other")
    other = _claimed(Storefront.objects.create(store=store, slug="other", title="Other"), label)

    page = text(run_action(superuser_client(), Storefront, "reverify_custom_domain", [bare, other]))

    assert "Skipped 1, no custom domain set: mystore." in page
    # The list under the messages shows every custom domain: the name must be the skip's.
    assert re.search(
        rf"Skipped 1, not verified \([^<]+\): {re.escape(other.custom_domain)}\.", page
    )
    assert not Storefront.objects.filter(custom_domain_verified=True).exists()


def test_reverify_rechecks_a_verified_domain(
    storefront: Storefront, dns: KnotServer, label: str
) -> None:
    storefront = _claimed(storefront, label)
    verify_txt(dns, storefront)
    Storefront.objects.filter(pk=storefront.pk).update(custom_domain_verified=True)

    page = text(run_action(superuser_client(), Storefront, "reverify_custom_domain", [storefront]))

    storefront.refresh_from_db()
    assert storefront.custom_domain_verified and storefront.domain_last_checked_at is not None
    assert f"Re-checked, still verified: 1 ({storefront.custom_domain})" in page
