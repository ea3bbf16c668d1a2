from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import AuditEvent
from audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit log's hash chains and report the first broken link of each "
        "(exit status 1), or say that every chain is whole."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", help="Check one organization's chain (org_...).")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = [options["organization"]] if options["organization"] else None
        breaks = verify_chain(ids)
        if breaks:
            for broken in breaks:
                chain = broken.organization_id or "global"
                self.stderr.write(
                    f"BROKEN chain {chain} at event {broken.event_id} "
                    f"(position {broken.position}): {broken.reason}"
                )
            raise CommandError(f"{len(breaks)} audit chain(s) broken.")
        count = (
            AuditEvent.objects.count()
            if ids is None
            else (AuditEvent.objects.filter(organization_id=ids[0]).count())
        )
        self.stdout.write(self.style.SUCCESS(f"The audit chain is whole ({count} events)."))
