from decimal import Decimal

import pytest

from storefronts.models import Product, Storefront
from storefronts.services import store_create
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


def verify_txt(knot, storefront: Storefront) -> None:
    """Publishes the ownership record exactly as the contract tells the store to."""
    knot.set(
        f"_sendy-verify.{storefront.custom_domain}",
        "TXT",
        f'"sendy-verify={storefront.custom_domain_verification_token}"',
    )
