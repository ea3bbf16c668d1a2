from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from storefronts.models import Product, Storefront
from storefronts.services import store_create

DEMO_ORG = "Acme Demo"
DEMO_PRODUCTS = [("Mug", "12.50", 20), ("T-shirt", "24.00", 10), ("Sticker pack", "4.90", 0)]


class Command(BaseCommand):
    help = "Add a published demo store with a few products (after load_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("load_demo_store is for local use; it runs only with DEBUG on.")
        organization = Organization.objects.filter(name=DEMO_ORG).first()
        if organization is None:
            raise CommandError("Run load_demo first.")
        storefront = Storefront.objects.filter(store__organization=organization).first()
        if storefront is None:
            storefront = store_create(organization=organization, name="Acme Shop", slug="acme-shop")
            Storefront.objects.filter(pk=storefront.pk).update(published=True)
            for name, price, stock in DEMO_PRODUCTS:
                Product.objects.create(
                    storefront=storefront,
                    name=name,
                    price=Decimal(price),
                    currency="EUR",
                    stock=stock,
                )
        self.stdout.write(
            f"  storefront: /s/{storefront.slug}/ "
            f"(public API /api/v1/public/storefronts/{storefront.slug})"
        )
