"""Reads for sending domains, including the cached from-address resolver the send path
uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from dnscheck.names import DomainNameError, normalize_domain
from domains.models import SendingDomain

SENDER_CACHE_SECONDS = 60
WARMUP_BASE = 50


def sending_domains_for(*, organization: Any) -> QuerySet[SendingDomain]:
    return SendingDomain.objects.filter(organization=organization).select_related("tenant")


def _sender_key(organization_id: str, name: str) -> str:
    return f"sender-domain:{organization_id}:{name}"


def sender_cache_forget(domain: SendingDomain) -> None:
    """After a change the send path must see at once (tenant, status, deletion)."""
    cache.delete(_sender_key(domain.organization_id, domain.name))


def domain_for_sender(*, organization_id: str, from_address: str) -> dict[str, Any] | None:
    """The verified domain a from-address sends through, as `{id, name, tenant_id}`, or
    None. Cached briefly: the send path asks for every message."""
    try:
        name = normalize_domain(from_address.rsplit("@", 1)[-1]).ascii
    except DomainNameError:
        return None
    key = _sender_key(organization_id, name)
    cached = cache.get(key)
    if cached is not None:
        return cached or None
    domain = (
        SendingDomain.objects.filter(
            organization_id=organization_id, name=name, status=SendingDomain.Status.VERIFIED
        )
        .values("id", "name", "tenant_id")
        .first()
    )
    cache.set(key, domain or {}, SENDER_CACHE_SECONDS)
    return domain


@dataclass(frozen=True)
class WarmupLimit:
    cap: int | None  # messages allowed today; None: no cap
    days_in: int | None
    total_days: int


def warmup_cap(domain: SendingDomain, now: datetime | None = None) -> WarmupLimit:
    """`50 * 2**days_in` per UTC day while `days_in < total_days`; no cap after, and none
    for a domain that never started warmup."""
    if domain.warmup_started_at is None:
        return WarmupLimit(None, None, domain.warmup_total_days)
    now = now or timezone.now()
    days_in = (now.date() - domain.warmup_started_at.astimezone(now.tzinfo).date()).days
    days_in = max(days_in, 0)
    if days_in < domain.warmup_total_days:
        return WarmupLimit(WARMUP_BASE * 2**days_in, days_in, domain.warmup_total_days)
    return WarmupLimit(None, days_in, domain.warmup_total_days)
