import sys
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import Actor, acting_as
from domains.models import SendingDomain
from domains.services import sending_domain_verify


class Command(BaseCommand):
    help = "Re-check sending domains now and show what changed."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="Every domain.")
        which.add_argument("--pending", action="store_true", help="Pending domains only.")
        which.add_argument("--id", nargs="+", dest="ids", help="These domains (dom_...).")

    def handle(self, *args: Any, **options: Any) -> None:
        domains = SendingDomain.objects.order_by("created_at")
        if options["pending"]:
            domains = domains.filter(status=SendingDomain.Status.PENDING)
        elif options["ids"]:
            domains = domains.filter(pk__in=options["ids"])
            missing = set(options["ids"]) - set(domains.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No such domain: {', '.join(sorted(missing))}")
        total = domains.count()
        changes: list[tuple[str, str, str, str]] = []
        counts: Counter = Counter()
        with acting_as(Actor.system("verify_domains")):
            for done, domain in enumerate(domains.iterator(), start=1):
                before = domain.status
                outcome = sending_domain_verify(domain=domain)
                after = domain.status
                counts["transient" if outcome.transient else after] += 1
                if before != after:
                    changes.append((domain.pk, domain.name, before, after))
                self._progress(done, total)
        self.stdout.write("")
        if changes:
            width = max(len(name) for _, name, _, _ in changes)
            self.stdout.write(f"{'id':<26} {'domain':<{width}}  before    after")
            for pk, name, before, after in changes:
                self.stdout.write(f"{pk:<26} {name:<{width}}  {before:<9} {after}")
        else:
            self.stdout.write("No status changed.")
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"
        self.stdout.write(self.style.SUCCESS(f"Checked {total}: {summary}."))

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        stream = self.stdout if sys.stdout.isatty() else None
        if stream is not None:
            stream.write(f"\r[{bar}] {done}/{total}", ending="")
            stream.flush()
