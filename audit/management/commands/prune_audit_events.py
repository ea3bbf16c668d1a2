from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.services import audit_prune


class Command(BaseCommand):
    help = (
        "Archive audit events older than the retention period to a gzipped JSON-lines file, "
        "then delete them (the only deletion the audit log allows). The prune is audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="Keep this many days (default: AUDIT_RETENTION_DAYS)."
        )
        parser.add_argument("--archive-dir", help="Default: AUDIT_ARCHIVE_DIR.")
        parser.add_argument("--dry-run", action="store_true", help="Only count.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.AUDIT_RETENTION_DAYS
        if not days:
            self.stdout.write("Retention is unlimited (AUDIT_RETENTION_DAYS=0): nothing to do.")
            return
        if days < 1:
            raise CommandError("--days must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        archive_dir = Path(options["archive_dir"] or settings.AUDIT_ARCHIVE_DIR)
        result = audit_prune(cutoff=cutoff, archive_dir=archive_dir, dry_run=options["dry_run"])
        if options["dry_run"]:
            self.stdout.write(f"{result.pruned} events are older than {cutoff:%Y-%m-%d %H:%M}.")
        elif result.archive:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Archived and pruned {result.pruned} events to {result.archive}."
                )
            )
        else:
            self.stdout.write(f"No events older than {cutoff:%Y-%m-%d %H:%M}.")
