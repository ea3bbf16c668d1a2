"""The verification engine: what is due, claiming it so pollers never collide, checking
it, and when to look next (shared/DESIGN.md, "How a check flows").

Cohorts (the SES contract): pending domains younger than 7 days, checked on an adaptive
schedule (every minute in their first hour, every 5 minutes that day, every 30 minutes
after); verified domains last checked over 24 hours ago. `next_check_at` on the row is
the schedule and, while a worker holds a row, its lease."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from domains.models import SendingDomain
from domains.services import sending_domains_verify_many

logger = logging.getLogger(__name__)

PENDING_WINDOW = timedelta(days=7)
VERIFIED_EVERY = timedelta(hours=24)
LEASE = timedelta(minutes=5)
CHUNK_SIZE = 50
MAX_BACKOFF = timedelta(hours=6)


def next_check(domain: SendingDomain, now: datetime) -> datetime | None:
    """When to look again after a check that gave evidence."""
    if domain.status == SendingDomain.Status.VERIFIED:
        return now + VERIFIED_EVERY
    if domain.status == SendingDomain.Status.FAILED:
        return None  # the owner restarts it (re-check); nothing will change by waiting
    age = now - domain.created_at
    if age >= PENDING_WINDOW:
        return None
    if age < timedelta(hours=1):
        return now + timedelta(minutes=1)
    if age < timedelta(hours=24):
        return now + timedelta(minutes=5)
    return now + timedelta(minutes=30)


def backoff(failures: int) -> timedelta:
    """After `failures` transient failures in a row: 5 min, 10, 20, ... up to 6 hours."""
    return min(timedelta(minutes=5) * 2 ** max(failures - 1, 0), MAX_BACKOFF)


def _due(now: datetime) -> Q:
    """Pending and younger than 7 days, or verified; and due by the row's schedule (a
    verified domain's next check is 24 hours after its last)."""
    return Q(next_check_at__lte=now) & (
        Q(status=SendingDomain.Status.PENDING, created_at__gt=now - PENDING_WINDOW)
        | Q(status=SendingDomain.Status.VERIFIED)
    )


def claim_due(*, limit: int = 1000, now: datetime | None = None) -> list[str]:
    """Claims due rows: rows another poller holds are skipped (SKIP LOCKED), and each
    claimed row's `next_check_at` moves a lease ahead, so a worker that dies mid-chunk
    only delays its rows by the lease."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            SendingDomain.objects.select_for_update(skip_locked=True)
            .filter(_due(now))
            .order_by("next_check_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            SendingDomain.objects.filter(pk__in=ids).update(next_check_at=now + LEASE)
    return ids


@dataclass
class CycleReport:
    checked: int = 0
    outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        o = self.outcomes
        return (
            f"domain poll: checked={self.checked} verified={o['verified']} "
            f"unverified={o['unverified']} failed={o['failed']} unchanged={o['unchanged']} "
            f"transient={o['transient']} duration={self.seconds:.2f}s"
        )


def check_domains(ids: Iterable[str]) -> CycleReport:
    """Checks the claimed domains together (one concurrent DNS batch); each one's next
    check follows from what was found. A transient failure changes nothing but the
    schedule: it backs off and counts. Domains whose status stays are written in a few
    grouped updates (by their next check), not one by one."""
    report = CycleReport()
    started = time.monotonic()
    domains = list(SendingDomain.objects.filter(pk__in=list(ids)).select_related("tenant"))
    before = {d.pk: d.status for d in domains}
    try:
        outcomes = sending_domains_verify_many(domains)
    except Exception:  # the chunk's leases bring it back; nothing was half-applied per domain
        logger.exception("check of %d sending domains failed", len(domains))
        report.outcomes["transient"] += len(domains)
        return report
    now = timezone.now()
    settled: dict[tuple[datetime | None, str, datetime | None], list[str]] = defaultdict(list)
    for domain, outcome in zip(domains, outcomes, strict=True):
        report.checked += 1
        if outcome.transient:
            failures = domain.consecutive_failures + 1
            updates = {
                "consecutive_failures": F("consecutive_failures") + 1,
                "next_check_at": now + backoff(failures),
            }
            if outcome.provider_status is not None:  # DNS failed after the provider answered
                updates["last_checked_at"] = domain.last_checked_at
            SendingDomain.objects.filter(pk=domain.pk).update(**updates)
            report.outcomes["transient"] += 1
            continue
        key = (next_check(domain, now), domain.provider_error_type, domain.last_checked_at)
        settled[key].append(domain.pk)
        report.outcomes[_label(before[domain.pk], domain.status)] += 1
    for (next_at, error_type, checked_at), pks in settled.items():
        SendingDomain.objects.filter(pk__in=pks).update(
            consecutive_failures=0,
            next_check_at=next_at,
            provider_error_type=error_type,
            last_checked_at=checked_at,
        )
    report.seconds = time.monotonic() - started
    return report


def _label(before: str, after: str) -> str:
    if before == after:
        return "unchanged"
    return {
        SendingDomain.Status.VERIFIED: "verified",
        SendingDomain.Status.FAILED: "failed",
    }.get(after, "unverified")


def poll_cycle(*, limit: int = 1000, dispatch: bool = False) -> CycleReport:
    """One cycle: claim what is due, check it in chunks (dispatched to workers as tasks,
    or inline), log one line with the counts."""
    started = time.monotonic()
    ids = claim_due(limit=limit)
    chunks = [ids[i : i + CHUNK_SIZE] for i in range(0, len(ids), CHUNK_SIZE)]
    report = CycleReport()
    if dispatch:
        from domains.tasks import check_chunk

        for chunk in chunks:
            check_chunk.delay(chunk)
        report.checked = len(ids)
    else:
        for chunk in chunks:
            part = check_domains(chunk)
            report.checked += part.checked
            report.outcomes.update(part.outcomes)
    report.seconds = time.monotonic() - started
    logger.info(report.line())
    return report
