from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organization
from domains.services import sending_domain_create

DEMO_ORG = "Acme Demo"
DEMO_SENDING_DOMAIN = "mail.acme.example"


class Command(BaseCommand):
    help = "Add the demo sending domain to the demo organization (after load_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("load_demo_domains is for local use; it runs only with DEBUG on.")
        organization = Organization.objects.filter(name=DEMO_ORG).first()
        if organization is None:
            raise CommandError("Run load_demo first.")
        if not organization.sending_domains.filter(name=DEMO_SENDING_DOMAIN).exists():
            sending_domain_create(
                organization=organization, name=DEMO_SENDING_DOMAIN, provider="local"
            )
        self.stdout.write(f"  sending domain: {DEMO_SENDING_DOMAIN} (pending: publish its records)")
