import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import Membership, Organization
from accounts.services import (
    api_key_create,
    organization_create,
    user_get_or_create,
)


class Command(BaseCommand):
    help = (
        "Create an organization and its owner (or reuse the organization of that name the "
        "owner already owns), optionally with a new API key. "
        "Prints one JSON object: org_id, user_email and, with --api-key, api_key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="Organization name.")
        parser.add_argument("--email", required=True, help="The owner's email address.")
        parser.add_argument("--password", help="Set the owner's password (else unchanged).")
        parser.add_argument("--api-key", action="store_true", help="Also issue an API key.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["org"].strip()
        email = options["email"].strip().lower()
        if not name:
            raise CommandError("--org must not be empty.")
        try:
            validate_email(email)
        except Exception as exc:
            raise CommandError(f"--email {email!r} is not an email address.") from exc

        with transaction.atomic():
            user, _ = user_get_or_create(email=email, password=options["password"])
            organization = self._organization(name=name, user=user)
            result: dict[str, str] = {"org_id": organization.pk, "user_email": user.email}
            if options["api_key"]:
                issued = api_key_create(
                    organization=organization, name="bootstrap", created_by=user
                )
                result["api_key"] = issued.raw_key
        self.stdout.write(json.dumps(result))

    def _organization(self, *, name: str, user: Any) -> Organization:
        """The organization of that name the user already owns, else a new one. Names are
        not unique across customers, so a same-named organization of someone else's is
        never joined: that would hand one customer another's data and keys."""
        owned = Organization.objects.filter(
            name=name, memberships__user=user, memberships__role=Membership.Role.OWNER
        ).first()
        return owned or organization_create(name=name, owner=user)
