from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import Membership, Organization, Tenant, User
from accounts.services import membership_set, organization_create, user_get_or_create

DEMO_ORG = "Acme Demo"
DEMO_PASSWORD = "domainkeeper-demo"  # noqa: S105 - printed on purpose, local demo only
DEMO_USERS = {
    "owner@demo.test": Membership.Role.OWNER,
    "staff@demo.test": Membership.Role.STAFF,
}
DEMO_ADMIN = "admin@demo.test"
DEMO_TENANTS = [("Acme Retail", "acme-retail"), ("Acme Wholesale", "acme-wholesale")]


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo logins. For local use only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even when DEBUG is off (never in prod)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("load_demo creates known passwords; it runs only with DEBUG on.")
        with transaction.atomic():
            owner, _ = user_get_or_create(email="owner@demo.test", password=DEMO_PASSWORD)
            organization = Organization.objects.filter(name=DEMO_ORG).first()
            if organization is None:
                organization = organization_create(name=DEMO_ORG, owner=owner)
            for email, role in DEMO_USERS.items():
                user, _ = user_get_or_create(email=email, password=DEMO_PASSWORD)
                membership_set(organization=organization, user=user, role=role)
            admin, _ = user_get_or_create(email=DEMO_ADMIN, password=DEMO_PASSWORD)
            User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
            for name, external_id in DEMO_TENANTS:
                Tenant.objects.get_or_create(
                    organization=organization, external_id=external_id, defaults={"name": name}
                )

        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready in {organization.name} ({organization.pk}).")
        )
        self.stdout.write(f"  store owner: owner@demo.test / {DEMO_PASSWORD}")
        self.stdout.write(f"  store staff: staff@demo.test / {DEMO_PASSWORD}")
        self.stdout.write(f"  admin:       {DEMO_ADMIN} / {DEMO_PASSWORD}  (/admin/)")
