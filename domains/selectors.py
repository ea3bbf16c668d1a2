"""Reads for sending domains, including the cached from-address resolver the send path
uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from config.cache import GenerationalCache
from dnscheck.names import DomainNameError, normalize_domain
from domains.models import SendingDomain

SENDER_CACHE_SECONDS = 60
WARMUP_BASE = 50
# The formula passes any real day's volume within weeks and 64-bit integers by day 58; the
# cap is held at the largest count the counter's column stores, which no domain reaches.
WARMUP_CAP_CEILING = 2**31 - 1


def sending_domains_for(*, organization: Any) -> QuerySet[SendingDomain]:
    return SendingDomain.objects.filter(organization=organization).select_related("tenant")


# The send path reads this for every message; every change that matters to it forgets the
# entry (no copy in process memory: a change must show on the very next send).
SENDER_CACHE = GenerationalCache("sender-domain:v5", seconds=SENDER_CACHE_SECONDS)


def sender_cache_name(organization_id: str, name: str) -> str:
    return f"{organization_id}:{name}"


def sender_cache_forget_name(organization_id: str, name: str) -> None:
    SENDER_CACHE.forget(sender_cache_name(organization_id, name))


def sender_cache_forget(domain: SendingDomain) -> None:
    """After a change the send path must see at once (tenant, status, region, warmup,
    deletion, a new domain)."""
    sender_cache_forget_name(domain.organization_id, domain.name)


def sender_cache_forget_many(domains: list[SendingDomain]) -> None:
    """`sender_cache_forget` for a batch (the engine's chunk), in one round trip."""
    SENDER_CACHE.forget_many([sender_cache_name(d.organization_id, d.name) for d in domains])


@dataclass(frozen=True)
class SenderDomain:
    """What the send path needs of a domain, small enough to cache."""

    id: str
    name: str
    tenant_id: str | None
    status: str
    provider: str
    region: str
    fallback_region: str
    warmup_started_at: datetime | None
    warmup_total_days: int
    dkim_selector: str
    dkim_private_key_encrypted: str

    @property
    def verified(self) -> bool:
        return self.status == SendingDomain.Status.VERIFIED


SENDER_FIELDS = [f.name for f in SenderDomain.__dataclass_fields__.values()]


def domain_for_sender(*, organization_id: str, from_address: str) -> SenderDomain | None:
    """The organization's domain a from-address sends through, whatever its status (the
    caller refuses an unverified one), or None. Cached briefly: the send path asks for
    every message; every change that matters to it forgets the entry (SENDER_CACHE)."""
    try:
        name = normalize_domain(from_address.rsplit("@", 1)[-1]).ascii
    except DomainNameError:
        return None
    row = SENDER_CACHE.get(
        sender_cache_name(organization_id, name),
        lambda: (
            SendingDomain.objects.filter(organization_id=organization_id, name=name)
            .values(*SENDER_FIELDS)
            .first()
        ),
    )
    return SenderDomain(**row) if row else None


@dataclass(frozen=True)
class WarmupLimit:
    cap: int | None  # messages allowed today; None: no cap
    days_in: int | None
    total_days: int


def warmup_cap(domain: SendingDomain | SenderDomain, now: datetime | None = None) -> WarmupLimit:
    """`50 * 2**days_in` per UTC day while `days_in < total_days`; no cap after, and none
    for a domain that never started warmup."""
    if domain.warmup_started_at is None:
        return WarmupLimit(None, None, domain.warmup_total_days)
    now = now or timezone.now()
    days_in = (now.date() - domain.warmup_started_at.astimezone(now.tzinfo).date()).days
    days_in = max(days_in, 0)
    if days_in < domain.warmup_total_days:
        cap = min(WARMUP_BASE * 2**days_in, WARMUP_CAP_CEILING)
        return WarmupLimit(cap, days_in, domain.warmup_total_days)
    return WarmupLimit(None, days_in, domain.warmup_total_days)
