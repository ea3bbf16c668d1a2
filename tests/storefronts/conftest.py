from decimal import Decimal

import pytest
from django.utils import timezone

from storefronts.models import Product, Storefront
from storefronts.services import forget_storefront, normalize_host, store_create, www_pairing
from tests.conftest import OrgTrio


@pytest.fixture
def storefront(trio: OrgTrio) -> Storefront:
    storefront = store_create(organization=trio.organization, name="My Store", slug="mystore")
    Storefront.objects.filter(pk=storefront.pk).update(published=True)
    storefront.refresh_from_db()
    return storefront


@pytest.fixture
def product(storefront: Storefront) -> Product:
    return Product.objects.create(
        storefront=storefront, name="Mug", price=Decimal("12.50"), currency="EUR", stock=3
    )


def verified(storefront: Storefront, domain: str = "mystore.com") -> Storefront:
    """The storefront with `domain` verified, as a published TXT record and POST /verify end
    (the DNS round trip itself is tested on its own), public answers remembered from before
    included."""
    pair, site = www_pairing(normalize_host(domain))
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain=domain,
        custom_domain_pair=pair,
        custom_domain_site=site,
        custom_domain_verification_token="a" * 32,
        custom_domain_verified=True,
        custom_domain_verified_at=timezone.now(),
    )
    storefront.refresh_from_db()
    forget_storefront(slugs=[storefront.slug], domains=storefront.custom_domain_hosts)
    return storefront


def verify_txt(knot, storefront: Storefront) -> None:
    """Publishes the ownership record exactly as the contract tells the store to."""
    knot.set(
        f"_sendy-verify.{storefront.custom_domain}",
        "TXT",
        f'"sendy-verify={storefront.custom_domain_verification_token}"',
    )
