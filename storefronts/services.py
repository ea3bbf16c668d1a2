"""Storefront custom domains (the storefront contract), public resolution, and orders."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, QuerySet, When
from django.utils import timezone

from audit.services import record, target
from config.cache import GenerationalCache
from config.dns import dns_resolver, reserved_hosts
from config.errors import ConflictError, InvalidInputError, NotFoundError, ServiceError
from dnscheck.check import check_records
from dnscheck.names import DomainName, DomainNameError, normalize_domain, to_display
from dnscheck.records import ExpectedRecord, Outcome, Purpose, RecordResult
from storefronts.models import (
    CustomDomainHold,
    Order,
    OrderLine,
    OrderOtp,
    Product,
    Storefront,
)
from webhooks.notifications import email_owners
from webhooks.services import publish

logger = logging.getLogger(__name__)

PUBLIC_CACHE_SECONDS = 300
PUBLIC_MISS_CACHE_SECONDS = 30  # a "no" may have been read just before a domain verified
RECHECK_EVERY = timedelta(hours=24)
RECHECK_LEASE = timedelta(minutes=30)  # a claimed re-check comes back if its worker dies
RECHECK_BATCH = 200
UNVERIFY_AFTER_MISSES = 3
UNVERIFY_AFTER_SPAN = timedelta(hours=48)
OTP_VALID = timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5
OTP_MAX_PER_WINDOW = 3
# What slugify() produces, so every slug a store was created with stays valid.
SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?")


class CustomDomainTaken(ConflictError):
    code = "CUSTOM_DOMAIN_TAKEN"
    message = "This domain is already in use by another store."


class SlugTaken(ConflictError):
    code = "SLUG_TAKEN"
    message = "This slug is taken."


class DomainNotConfigured(ServiceError):
    code = "DOMAIN_NOT_CONFIGURED"
    status = 400
    message = "No custom domain or verification token configured."


class DomainAlreadyVerified(ServiceError):
    code = "DOMAIN_ALREADY_VERIFIED"
    status = 400
    message = "Custom domain is already verified."


class DnsTxtNotFound(ServiceError):
    code = "DNS_TXT_NOT_FOUND"
    status = 422
    message = "TXT record not found. DNS propagation can take up to 24 hours."


class DnsUnavailable(ServiceError):
    code = "DNS_UNAVAILABLE"
    status = 503
    message = "DNS did not answer in time. Nothing was changed; try again in a minute."


def custom_domain_target() -> str:
    return settings.CUSTOM_DOMAIN_TARGET


def new_token() -> str:
    return secrets.token_hex(16)


def _object(storefront: Storefront) -> dict[str, Any]:
    return {
        "id": str(storefront.pk),
        "kind": "storefront",
        "slug": storefront.slug,
        "custom_domain": storefront.custom_domain,
        "custom_domain_verified": storefront.custom_domain_verified,
        "custom_domain_verified_at": storefront.custom_domain_verified_at.isoformat()
        if storefront.custom_domain_verified_at
        else None,
    }


def _announce(
    storefront: Storefront,
    event: str,
    changes: dict[str, list[Any]],
    *,
    payload: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Audit event and webhook for one change; `extra` goes to the audit metadata, `payload`
    into the webhook's object."""
    organization_id = storefront.store.organization_id
    record(
        action=event,
        organization=organization_id,
        targets=[target(storefront, type="storefront", name=storefront.slug)],
        changes=changes,
        metadata=extra or None,
    )
    publish(
        organization=organization_id,
        type=event,
        obj={**_object(storefront), **(payload or {})},
        previous_attributes={k: v[0] for k, v in changes.items()},
    )


# --- public resolution (public API, host routing, the TLS ask) ------------------------------

# What the public sees of a published storefront, by slug and by verified domain: shared by
# every process for 5 minutes (a "none" for 30 s), and held in each process's memory for a
# moment in front of that, so the hot paths ask neither the database nor the network. Every
# change that matters forgets the entries (forget_storefront).
SLUG_LENGTH = Storefront._meta.get_field("slug").max_length
PUBLIC_CACHE = GenerationalCache(
    "storefront-public:v1",
    seconds=PUBLIC_CACHE_SECONDS,
    miss_seconds=PUBLIC_MISS_CACHE_SECONDS,
    local_seconds=settings.PUBLIC_LOCAL_CACHE_SECONDS,
)


# `host:port`, or `[v6]:port` (refused later as an IP literal).
HOST_WITH_PORT = re.compile(r"(?P<host>[^:\[\]]+|\[[^\]]*\]):(?P<port>[0-9]{1,5})")


OWN_HOST_SETTINGS = {"ALLOWED_HOSTS", "CANONICAL_HOST", "CUSTOM_DOMAIN_TARGET", "BACKEND_BASE_URL"}


@cache
def own_hosts() -> tuple[str, ...]:
    """Names no store may take, nor a name under them: our routing target and API host
    (reserved_hosts), CANONICAL_HOST and every plain name in ALLOWED_HOSTS. Read once per
    process (every request asks); a change of those settings (tests) reads them again."""
    names = [*reserved_hosts(), settings.CANONICAL_HOST]
    names += [h.lstrip(".") for h in settings.ALLOWED_HOSTS if h != "*"]
    return tuple(dict.fromkeys(n.lower() for n in names if n and "." in n.strip(".")))


def normalize_host(raw: str) -> DomainName:
    """The one normaliser for a store's domain, on every path: save, verify, the unique index,
    host routing, the public lookup and the TLS ask. Lowercase, without a port or the
    trailing dot, IDNA (UTS 46) to punycode (stored; `.display` is the Unicode form); IP
    literals, wildcards, public suffixes and our own hosts are refused (DomainNameError,
    with a code). Remembered: the hot paths see the same few names all day."""
    return _normalize_host(raw, own_hosts())


@lru_cache(maxsize=8192)
def _normalize_host(raw: str, own: tuple[str, ...]) -> DomainName:
    text = raw.strip()
    with_port = HOST_WITH_PORT.fullmatch(text)
    if with_port:
        text = with_port.group("host")
    return normalize_domain(text, reserved=own)


def public_storefronts() -> QuerySet[Storefront]:
    return Storefront.objects.filter(published=True, deleted_at__isnull=True)


def public_card(storefront: Storefront) -> dict[str, Any]:
    """The public storefront's representation (`GET /public/storefronts/{slug}`)."""
    return {
        "id": str(storefront.pk),
        "slug": storefront.slug,
        "title": storefront.title,
        "description": storefront.description,
        "customDomain": storefront.custom_domain if storefront.custom_domain_verified else None,
    }


Hook = Callable[[], None] | None


def _public_lookup(name: str, before_leaving_memory: Hook, **where: Any) -> dict[str, Any] | None:
    def load() -> dict[str, Any] | None:
        storefront = public_storefronts().filter(**where).first()
        return public_card(storefront) if storefront else None

    return PUBLIC_CACHE.get(name, load, before_leaving_memory)


def _host_entry(host: str, before_leaving_memory: Hook) -> dict[str, Any] | None:
    """What a verified host name (the domain or its `www` pair) leads to: the storefront's
    card and its primary host."""

    def load() -> dict[str, Any] | None:
        storefront = (
            public_storefronts()
            .filter(Q(custom_domain=host) | Q(custom_domain_pair=host), custom_domain_verified=True)
            # A store's own name before another's pair (two such rows only from before
            # pairing: the site index keeps new ones apart).
            .order_by(Case(When(custom_domain=host, then=0), default=1))
            .first()
        )
        if storefront is None:
            return None
        return {"card": public_card(storefront), "primary": storefront.primary_host}

    return PUBLIC_CACHE.get(f"host:{host}", load, before_leaving_memory)


def storefront_card_for_host(
    host: str, before_leaving_memory: Hook = None
) -> dict[str, Any] | None:
    """The published storefront a verified custom domain or its `www` pair (normalised)
    serves, or None."""
    entry = _host_entry(host, before_leaving_memory)
    return entry["card"] if entry else None


def storefront_route_for_host(host: str) -> tuple[str, str] | None:
    """For a request to a store's own name: its slug and the host it is served at (the
    other name of a pair redirects there); None for a name no storefront serves."""
    entry = _host_entry(host, None)
    return (entry["card"]["slug"], entry["primary"]) if entry else None


def storefront_slug_for_host(host: str) -> str | None:
    route = storefront_route_for_host(host)
    return route[0] if route else None


def storefront_public_card(
    identifier: str, *, before_leaving_memory: Hook = None
) -> dict[str, Any]:
    """What `GET /public/storefronts/{identifier}` shows: the published storefront whose slug
    is `identifier`, or whose verified custom domain it is in any spelling (`MyStore.com.`,
    `mystöre.com`); else NotFoundError. `before_leaving_memory` runs when the answer is not
    in this process's memory (the caller's budget check)."""
    card = None
    ident = identifier.strip().lower()
    if ident.isascii() and "." not in ident:  # a slug (slugs have no dots)
        if len(ident) <= SLUG_LENGTH:  # nothing longer is remembered either
            card = _public_lookup(f"slug:{ident}", before_leaving_memory, slug=ident)
    else:
        try:
            host = normalize_host(identifier).ascii
        except DomainNameError:
            host = None
        card = storefront_card_for_host(host, before_leaving_memory) if host else None
    if card is None:
        raise NotFoundError("No published storefront here.", code="STOREFRONT_NOT_FOUND")
    return card


def storefront_public(identifier: str) -> Storefront:
    """The row behind storefront_public_card, for what needs more than the card (catalog,
    orders): published, not deleted, by slug or verified domain."""
    card = storefront_public_card(identifier)
    storefront = public_storefronts().filter(pk=card["id"]).select_related("store").first()
    if storefront is None:  # changed since the card was read
        raise NotFoundError("No published storefront here.", code="STOREFRONT_NOT_FOUND")
    return storefront


def forget_storefront(
    *, slugs: Iterable[str | None] = (), domains: Iterable[str | None] = ()
) -> None:
    """After a change to what the public sees of a storefront: its slugs and domains, before
    and after, are looked up afresh."""
    for slug in set(slugs):
        if slug:
            PUBLIC_CACHE.forget(f"slug:{slug}")
    for domain in set(domains):
        if domain:
            PUBLIC_CACHE.forget(f"host:{domain}")


# --- the custom domain --------------------------------------------------------------------


def storefront_ensure_token(*, storefront: Storefront) -> Storefront:
    """Rows that had a domain before verification existed get their token on first read."""
    if storefront.custom_domain and not storefront.custom_domain_verification_token:
        token = new_token()
        Storefront.objects.filter(
            pk=storefront.pk, custom_domain_verification_token__isnull=True
        ).update(custom_domain_verification_token=token)
        storefront.refresh_from_db()
    return storefront


def storefront_update(
    *,
    storefront: Storefront,
    custom_domain: str | type[Ellipsis] | None = ...,
    title: str | None = None,
    description: str | None = None,
    published: bool | None = None,
    slug: str | None = None,
    claim: bool = False,
) -> Storefront:
    """PUT /store/storefront. A new domain gets a fresh token and starts unverified; the
    same domain again keeps its token; null or empty clears domain, token and flag. A
    verified domain the store clears or changes is held for it (CustomDomainHold); setting
    a domain the store holds ends its hold. Another store's verified or held domain is
    refused (409), unless `claim` (storefront_claim_domain): then it is set all the same,
    and verify takes it over only by proof."""
    with transaction.atomic():
        locked = (
            Storefront.objects.select_for_update().select_related("store").get(pk=storefront.pk)
        )
        before = {
            "custom_domain": locked.custom_domain,
            "slug": locked.slug,
            "title": locked.title,
            "description": locked.description,
            "published": locked.published,
        }
        was_verified = locked.custom_domain_verified
        old_token = locked.custom_domain_verification_token
        if slug is not None:
            locked.slug = _clean_slug(slug, storefront=locked)
        if title is not None:
            locked.title = title
        if description is not None:
            locked.description = description
        if published is not None:
            locked.published = published
        event = None
        if custom_domain is not ...:
            event = _apply_domain(locked, custom_domain, claim=claim)  # type: ignore[arg-type]
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as exc:  # another store took the slug or verified the domain
            if locked.slug != before["slug"] and _slug_used(locked.slug, storefront=locked):
                raise SlugTaken(errors={"slug": [SlugTaken.message]}) from exc
            raise _domain_taken() from exc
        other = {
            k: [before[k], getattr(locked, k)]
            for k in ("slug", "title", "description", "published")
            if before[k] != getattr(locked, k)
        }
        if other:
            record(
                action="storefront.updated",
                organization=locked.store.organization_id,
                targets=[target(locked, type="storefront", name=locked.slug)],
                changes=other,
            )
        if event:
            held = {}
            if was_verified and before["custom_domain"]:
                until = _hold(locked, before["custom_domain"], old_token)
                held = {"held_until": until.isoformat()} if until else {}
            if locked.custom_domain:  # the store sets a domain it holds: its hold ends
                CustomDomainHold.objects.filter(
                    storefront=locked,
                    domain__in={*locked.custom_domain_hosts, locked.custom_domain_site},
                ).delete()
            _announce(
                locked,
                event,
                {"custom_domain": [before["custom_domain"], locked.custom_domain]},
                **held,
            )
    return locked  # its save forgot the public answers, old and new (storefronts.signals)


def _hold(storefront: Storefront, domain: str, token: str | None) -> datetime | None:
    """Reserves a verified domain the store just let go, for CUSTOM_DOMAIN_HOLD_DAYS; returns
    until when (None: holds are off)."""
    if settings.CUSTOM_DOMAIN_HOLD_DAYS <= 0:
        return None
    until = timezone.now() + timedelta(days=settings.CUSTOM_DOMAIN_HOLD_DAYS)
    CustomDomainHold.objects.filter(domain=domain, storefront=storefront).delete()
    CustomDomainHold.objects.create(domain=domain, storefront=storefront, token=token, until=until)
    return until


def custom_domain_holds_expire() -> int:
    """Deletes holds past their end (they are ignored from then on anyway)."""
    return CustomDomainHold.objects.filter(until__lte=timezone.now()).delete()[0]


@dataclass(frozen=True)
class DomainHolder:
    """What keeps a domain from a store: another store that has it, or its `www` pair,
    verified (`hold_id` None), or one that holds it after letting it go. Never shown:
    which store it is."""

    storefront_id: uuid.UUID
    domain: str  # the holder's own name: its token is published under it
    token: str | None  # gone from DNS is the proof a reclaim needs
    hold_id: int | None = None


def _site_names(name: str) -> tuple[list[str], str]:
    """A domain's names (itself and its `www` pair) and the site they make up."""
    try:
        pair, site = www_pairing(normalize_host(name))
    except DomainNameError:  # a stored name from before a rule: only itself
        return [name], name
    return [n for n in (name, pair) if n], site


def domain_holder(name: str, *, besides: Storefront) -> DomainHolder | None:
    """Who holds `name` (the normaliser's form) or its `www` pair, other than `besides`,
    if anybody. An unverified claim holds nothing; an expired hold neither."""
    names, site = _site_names(name)
    owner = (
        Storefront.objects.filter(custom_domain_verified=True)
        .filter(
            Q(custom_domain_site=site)
            | Q(custom_domain__in=names)
            | Q(custom_domain_pair__in=names)
        )
        .exclude(pk=besides.pk)
        .values_list("pk", "custom_domain", "custom_domain_verification_token")
        .first()
    )
    if owner:
        return DomainHolder(*owner)
    hold = (
        CustomDomainHold.objects.filter(domain__in={*names, site}, until__gt=timezone.now())
        .exclude(storefront_id=besides.pk)
        .order_by("-created_at", "-pk")
        .values_list("storefront_id", "domain", "token", "pk")
        .first()
    )
    return DomainHolder(*hold) if hold else None


def holder_record(holder: DomainHolder) -> ExpectedRecord | None:
    """The holder's ownership record: what must be gone from DNS before another store
    can take the domain over (None: it has no token)."""
    return ownership_txt(holder.domain, holder.token) if holder.token else None


def storefront_domain_rival(*, storefront: Storefront) -> ExpectedRecord | None:
    """For an unverified domain another store holds: the record of that store that must go
    (it is visible in DNS anyway); None when nobody else holds the domain."""
    if not storefront.custom_domain or storefront.custom_domain_verified:
        return None
    holder = domain_holder(storefront.custom_domain, besides=storefront)
    return holder_record(holder) if holder else None


@dataclass(frozen=True)
class DomainClaim:
    storefront: Storefront
    publish: ExpectedRecord  # this store's token
    remove: ExpectedRecord | None  # the holder's, if another store holds the domain

    @property
    def message(self) -> str:
        """What to tell the store (the API's message, the dashboard's)."""
        if self.remove:
            return "Domain claimed. Publish your TXT record, remove the other one, then verify."
        return "Domain claimed. Publish your TXT record, then verify."


def storefront_claim_domain(*, storefront: Storefront, custom_domain: str) -> DomainClaim:
    """POST /store/storefront/domain/claim: sets the domain as PUT does (a fresh token,
    unverified), even when another store has it verified or on hold, and says what to
    publish and what must go. Verify then takes it over only by proof."""
    if not custom_domain.strip():
        message = "Enter the domain to claim."
        raise InvalidInputError(message, code="DOMAIN_REQUIRED", errors={"customDomain": [message]})
    claimed = storefront_update(storefront=storefront, custom_domain=custom_domain, claim=True)
    return DomainClaim(
        claimed, ownership_record(claimed), storefront_domain_rival(storefront=claimed)
    )


def _slug_used(slug: str, *, storefront: Storefront) -> bool:
    return Storefront.objects.filter(slug=slug).exclude(pk=storefront.pk).exists()


def _clean_slug(raw: str, *, storefront: Storefront) -> str:
    if raw.strip() == storefront.slug:  # unchanged: an older slug is never judged again
        return storefront.slug
    slug = raw.strip().lower()
    if not SLUG_PATTERN.fullmatch(slug):
        message = (
            "Use up to 100 letters, digits, hyphens and underscores, "
            "starting and ending with a letter or digit."
        )
        raise InvalidInputError(message, code="INVALID_SLUG", errors={"slug": [message]})
    if _slug_used(slug, storefront=storefront):
        raise SlugTaken(errors={"slug": [SlugTaken.message]})
    return slug


def _domain_taken() -> CustomDomainTaken:
    return CustomDomainTaken(errors={"customDomain": [CustomDomainTaken.message]})


def live_status_reset() -> dict[str, Any]:
    """The live probe's fields (storefronts.live) for a domain that is not verified, or
    verified anew: nothing seen yet."""
    return {
        "routing_status": Storefront.RoutingStatus.UNKNOWN,
        "tls_status": Storefront.TlsStatus.PENDING,
        "live_hint": "",
        "live_observed": {},
        "live_checked_at": None,
        "live_next_check_at": None,
    }


def domain_cleared() -> dict[str, Any]:
    """A store's domain fields once it has no custom domain (cleared, or taken over)."""
    return {
        "custom_domain": None,
        "custom_domain_pair": None,
        "custom_domain_pair_primary": False,
        "custom_domain_site": None,
        "custom_domain_verification_token": None,
        "custom_domain_verified": False,
        "custom_domain_verified_at": None,
        "domain_missing_checks": 0,
        "domain_first_missing_at": None,
        **live_status_reset(),
    }


def _set(storefront: Storefront, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(storefront, name, value)


def _apply_domain(storefront: Storefront, raw: str | None, *, claim: bool) -> str | None:
    if raw is None or not str(raw).strip():
        if not storefront.custom_domain:
            return None
        _set(storefront, domain_cleared())
        return "storefront.domain_cleared"
    try:
        domain = normalize_host(raw)
    except DomainNameError as exc:
        raise InvalidInputError(
            exc.message, code=exc.code, errors={"customDomain": [exc.message]}
        ) from exc
    name = domain.ascii
    if name == storefront.custom_domain:
        if not storefront.custom_domain_verification_token:
            storefront.custom_domain_verification_token = new_token()
        return None
    pair, site = www_pairing(domain)
    if not claim and domain_holder(name, besides=storefront) is not None:
        raise _domain_taken()
    storefront.custom_domain = name
    storefront.custom_domain_pair = pair
    storefront.custom_domain_pair_primary = False
    storefront.custom_domain_site = site
    storefront.custom_domain_verification_token = new_token()
    storefront.custom_domain_verified = False
    storefront.custom_domain_verified_at = None
    storefront.domain_missing_checks = 0
    storefront.domain_first_missing_at = None
    _set(storefront, live_status_reset())
    return "storefront.domain_set"


def www_pairing(domain: DomainName) -> tuple[str | None, str]:
    """The `www` pair a domain is served with (none for a name that is not an apex or its
    `www`, or whose pair is one of our own names), and the site both belong to."""
    pair = domain.www_pair
    if pair is not None:
        try:
            pair = normalize_host(pair).ascii
        except DomainNameError:
            pair = None
    return pair, domain.registrable if pair else domain.ascii


def storefront_set_primary_host(*, storefront: Storefront, host: str) -> Storefront:
    """Which of a paired domain's two names the store is served at; the other redirects
    there (301). Any spelling of either name; anything else is refused."""
    try:
        name = normalize_host(host).ascii
    except DomainNameError:
        name = None
    with transaction.atomic():
        locked = (
            Storefront.objects.select_for_update().select_related("store").get(pk=storefront.pk)
        )
        if name is None or name not in locked.custom_domain_hosts:
            hosts = " or ".join(to_display(h) for h in locked.custom_domain_hosts)
            message = f"Choose {hosts}." if hosts else "Set a custom domain first."
            raise InvalidInputError(
                message, code="INVALID_PRIMARY_HOST", errors={"primaryHost": [message]}
            )
        before = locked.primary_host
        locked.custom_domain_pair_primary = name == locked.custom_domain_pair
        if locked.primary_host != before:
            locked.save(update_fields=["custom_domain_pair_primary", "updated_at"])
            record(
                action="storefront.updated",
                organization=locked.store.organization_id,
                targets=[target(locked, type="storefront", name=locked.slug)],
                changes={"primary_host": [before, locked.primary_host]},
            )
    return locked  # its save forgot the host entries (storefronts.signals)


def ownership_record(storefront: Storefront) -> ExpectedRecord:
    return ownership_txt(storefront.custom_domain, storefront.custom_domain_verification_token)


def ownership_txt(domain: str, token: str) -> ExpectedRecord:
    """The TXT that proves a store holds `domain` with `token`."""
    return ExpectedRecord(
        "TXT",
        f"{settings.STOREFRONT_VERIFY_LABEL}.{domain}",
        f"{settings.STOREFRONT_VERIFY_PREFIX}={token}",
        Purpose.VERIFICATION,
    )


def routing_record(storefront: Storefront, host: str | None = None) -> ExpectedRecord:
    """CNAME to our target for a subdomain; A to our addresses for an apex (most DNS
    providers allow no CNAME there). For the domain, or `host` (its `www` pair)."""
    try:
        domain = normalize_domain(host or storefront.custom_domain)
    except DomainNameError as exc:
        raise InvalidInputError(
            "The stored domain is not valid any more; set it again.",
            code="INVALID_DOMAIN",
            errors={"customDomain": [exc.message]},
        ) from exc
    if domain.is_apex and settings.CUSTOM_DOMAIN_TARGET_IPS:
        return ExpectedRecord(
            "A", domain.ascii, " ".join(settings.CUSTOM_DOMAIN_TARGET_IPS), Purpose.ROUTING
        )
    return ExpectedRecord("CNAME", domain.ascii, custom_domain_target(), Purpose.ROUTING)


def routing_records(storefront: Storefront) -> list[ExpectedRecord]:
    """The routing record of each name the domain is served under (the domain, its pair)."""
    return [routing_record(storefront, host) for host in storefront.custom_domain_hosts]


def _check(records: list[ExpectedRecord]) -> list[RecordResult]:
    return asyncio.run(check_records(dns_resolver(), records))


def storefront_verify_domain(*, storefront: Storefront) -> Storefront:
    """POST /store/storefront/domain/verify. A domain another store holds (verified, or
    on hold after letting it go) is taken over only by proof (_reclaim)."""
    if not storefront.custom_domain or not storefront.custom_domain_verification_token:
        raise DomainNotConfigured()
    if storefront.custom_domain_verified:
        raise DomainAlreadyVerified()
    holder = domain_holder(storefront.custom_domain, besides=storefront)
    if holder is not None:
        return _reclaim(storefront, holder)
    [result] = _check([ownership_record(storefront)])
    if result.outcome == Outcome.ERROR:
        raise DnsUnavailable(extra={"hint": result.hint, "detail": result.detail})
    if not result.ok:
        raise DnsTxtNotFound(
            extra={
                "hint": result.hint,
                "fix": result.fix,
                "seenValue": result.seen_value,
                "host": result.record.host,
            }
        )
    try:
        with transaction.atomic():
            _mark_verified(storefront, timezone.now())
    except IntegrityError as exc:  # another store verified the same domain a moment earlier
        raise CustomDomainTaken() from exc
    return storefront


def _mark_verified(storefront: Storefront, now: datetime, **metadata: Any) -> None:
    """In the caller's transaction: the domain and token the caller checked, verified."""
    verified = Storefront.objects.filter(
        pk=storefront.pk,
        custom_domain=storefront.custom_domain,
        custom_domain_verification_token=storefront.custom_domain_verification_token,
        custom_domain_verified=False,
    ).update(
        custom_domain_verified=True,
        custom_domain_verified_at=now,
        domain_next_check_at=now + RECHECK_EVERY,
        domain_missing_checks=0,
        domain_first_missing_at=None,
        domain_last_checked_at=now,
        **{**live_status_reset(), "live_next_check_at": now},  # probed soon
    )
    if not verified:  # changed meanwhile: verify what is there now
        storefront.refresh_from_db()
        if storefront.custom_domain_verified:
            raise DomainAlreadyVerified()
        raise DomainNotConfigured()
    storefront.refresh_from_db()
    _announce(
        storefront,
        "storefront.domain_verified",
        {"custom_domain_verified": [False, True]},
        **metadata,
    )
    forget_storefront(slugs=[storefront.slug], domains=storefront.custom_domain_hosts)


def _reclaim(storefront: Storefront, holder: DomainHolder) -> Storefront:
    """Verify of a domain another store holds. The proof: this store's token published and
    the holder's definitely gone (_definitely_gone: a miss only the resolvers saw, or a
    timeout, proves nothing). Then, in one transaction, the holder loses the domain and
    this store is verified. Both rows are locked in pk order and read again first, so a
    reclaim and the holder's own change, re-check or verify queue rather than deadlock,
    and the domain is taken only from the holder whose token was proven gone."""
    name = storefront.custom_domain
    theirs = holder_record(holder)
    results = _check([ownership_record(storefront), *([theirs] if theirs else [])])
    for result in results:
        if result.outcome == Outcome.ERROR:
            raise DnsUnavailable(extra={"hint": result.hint, "detail": result.detail})
    own, gone = results[0], (results[1] if theirs else None)
    missing = []
    if not own.ok:
        missing.append(MISSING_OWN)
    if gone is not None and not _definitely_gone(gone):
        missing.append(MISSING_GONE)
    if missing:
        raise _reclaim_refused(own, gone, missing)
    now = timezone.now()
    try:
        with transaction.atomic():
            rows = Storefront.objects.select_for_update().filter(
                pk__in=[storefront.pk, holder.storefront_id]
            )
            locked = {row.pk: row for row in rows.order_by("pk")}
            mine = locked.get(storefront.pk)
            if mine is None or (mine.custom_domain, mine.custom_domain_verification_token) != (
                name,
                storefront.custom_domain_verification_token,
            ):
                raise DomainNotConfigured()  # this store changed its domain meanwhile
            if mine.custom_domain_verified:
                raise DomainAlreadyVerified()
            current = domain_holder(name, besides=mine)
            if current is not None and not (current == holder and _take(current)):
                # Held now with a token this check did not see gone: check again.
                raise _reclaim_refused(own, None, [MISSING_GONE], holder_record(current))
            # current None: the holder let go meanwhile (unverified, or its hold ended), and
            # this is a plain verify.
            _mark_verified(mine, now, **({"reclaimed": True} if current else {}))
            if current is not None:
                loser = Storefront.objects.select_related("store").get(pk=current.storefront_id)
                changes: dict[str, list[Any]] = {}
                if current.hold_id is None:
                    changes = {
                        "custom_domain": [current.domain, None],
                        "custom_domain_verified": [True, False],
                    }
                _announce(
                    loser,
                    "storefront.domain_reclaimed",
                    changes,
                    payload={"reclaimed_domain": current.domain},
                    domain=current.domain,
                    held=current.hold_id is not None,
                )
                forget_storefront(slugs=[loser.slug], domains=_site_names(current.domain)[0])
    except IntegrityError as exc:  # another store verified the same domain a moment earlier
        raise CustomDomainTaken() from exc
    if current is not None:
        _email_reclaimed(loser, current.domain, held=current.hold_id is not None)
    return mine


MISSING_OWN = "publishYourRecord"
MISSING_GONE = "removeOtherRecord"


def _take(holder: DomainHolder) -> bool:
    """Compare-and-swap: the holder loses the domain only as it was when proven gone."""
    if holder.hold_id is not None:
        return bool(
            CustomDomainHold.objects.filter(pk=holder.hold_id, token=holder.token).delete()[0]
        )
    return bool(
        Storefront.objects.filter(
            pk=holder.storefront_id,
            custom_domain=holder.domain,
            custom_domain_verified=True,
            custom_domain_verification_token=holder.token,
        ).update(**domain_cleared(), domain_next_check_at=None)
    )


def record_result_data(result: RecordResult) -> dict[str, Any]:
    """A checked record as the API shows it: diagnose, the live status's routing records,
    a refused reclaim's record to publish."""
    return {
        "type": result.record.type,
        "host": result.record.host,
        "hostname": result.record.name,
        "value": result.record.value,
        "outcome": result.outcome,
        "hint": result.hint,
        "fix": result.fix,
        "seenValue": result.seen_value,
    }


def _reclaim_refused(
    own: RecordResult,
    gone: RecordResult | None,
    missing: list[str],
    theirs: ExpectedRecord | None = None,
) -> CustomDomainTaken:
    """The contract's 409, with what is still missing for a reclaim, in the extra."""
    fixes = []
    publish_part = {**record_result_data(own), "found": own.ok}
    if MISSING_OWN in missing:
        fixes.append(
            f"Publish a TXT record with host `{own.record.host}` and value `{own.record.value}`."
        )
    remove_part = None
    record = gone.record if gone is not None else theirs
    host = record.host if record is not None else ""  # relative to its zone once checked
    if record is not None:
        remove_part = {
            "type": record.type,
            "host": host,
            "hostname": record.name,
            "value": record.value,
            "gone": MISSING_GONE not in missing,
            "hint": gone.hint if gone is not None else None,
        }
    if MISSING_GONE in missing and record is not None:
        if gone is not None and gone.ok:
            fixes.append(
                f"Remove the value `{record.value}` at `{host}`: it is still "
                "published, so the domain stays with the store that has it verified."
            )
        else:
            fixes.append(
                f"The value `{record.value}` at `{host}` is not proven gone: the "
                "domain's own nameservers did not confirm it. Try again in a few minutes."
            )
    return CustomDomainTaken(
        errors={"customDomain": [CustomDomainTaken.message]},
        extra={
            "reclaim": {
                "missing": missing,
                "publish": publish_part,
                "remove": remove_part,
                "fix": " ".join(fixes),
            }
        },
    )


def _email_reclaimed(storefront: Storefront, name: str, *, held: bool) -> None:
    """Tells the owners of the store that lost a domain (after the change committed)."""
    display = to_display(name)
    if held:
        what = (
            f"{display}, which was reserved for your storefront {storefront.slug} after it "
            "stopped using it, now belongs to another store."
        )
    else:
        what = (
            f"{display} no longer serves your storefront {storefront.slug}: it now belongs "
            "to another store. Your storefront is still reachable at its slug."
        )
    lines = [
        what,
        "",
        f"That store proved it controls {display}'s DNS: its ownership record is published "
        f"at {settings.STOREFRONT_VERIFY_LABEL}.{name} and yours is gone from there.",
        "",
        "If that is a mistake, whoever controls the domain's DNS decides: publish your own "
        "record there again, then claim the domain from your storefront page (or "
        "POST /api/v1/store/storefront/domain/claim) and verify.",
    ]
    subject = f"{display} was taken over by another store"
    email_owners(storefront.store.organization_id, subject, lines)


@dataclass
class StorefrontDiagnosis:
    ownership: RecordResult
    routing: RecordResult
    pair_routing: RecordResult | None = None  # the `www` pair's routing record


def storefront_diagnose(*, storefront: Storefront) -> StorefrontDiagnosis:
    if not storefront.custom_domain or not storefront.custom_domain_verification_token:
        raise DomainNotConfigured()
    ownership, *routing = _check([ownership_record(storefront), *routing_records(storefront)])
    return StorefrontDiagnosis(ownership, *routing)


def storefront_recheck_domain(*, storefront: Storefront) -> str:
    """The daily re-check of a verified domain. Only definite absence of the token, on 3
    checks spanning at least 48 hours, unverifies; a timeout or SERVFAIL counts for
    nothing. Returns what happened: ok, missing, transient, unverified."""
    now = timezone.now()
    [result] = _check([ownership_record(storefront)])
    base = Storefront.objects.filter(
        pk=storefront.pk, custom_domain_verified=True, custom_domain=storefront.custom_domain
    )
    if result.outcome == Outcome.ERROR:
        base.update(domain_next_check_at=now + timedelta(hours=1), domain_last_checked_at=now)
        return "transient"
    if result.ok or result.hint == "propagating":  # at the DNS host: caches will follow
        base.update(
            domain_missing_checks=0,
            domain_first_missing_at=None,
            domain_next_check_at=now + RECHECK_EVERY,
            domain_last_checked_at=now,
        )
        return "ok"
    if not _definitely_gone(result):
        base.update(domain_next_check_at=now + timedelta(hours=1), domain_last_checked_at=now)
        return "transient"
    misses = storefront.domain_missing_checks + 1
    first = storefront.domain_first_missing_at or now
    if misses >= UNVERIFY_AFTER_MISSES and now - first >= UNVERIFY_AFTER_SPAN:
        with transaction.atomic():
            if not base.filter(domain_missing_checks=storefront.domain_missing_checks).update(
                custom_domain_verified=False,
                custom_domain_verified_at=None,
                domain_missing_checks=0,
                domain_first_missing_at=None,
                domain_next_check_at=None,
                domain_last_checked_at=now,
                **live_status_reset(),
            ):
                return "transient"  # another check got there first
            storefront.refresh_from_db()
            _announce(
                storefront,
                "storefront.domain_unverified",
                {"custom_domain_verified": [True, False]},
                hint=result.hint,
            )
        forget_storefront(slugs=[storefront.slug], domains=storefront.custom_domain_hosts)
        return "unverified"
    base.update(
        domain_missing_checks=misses,
        domain_first_missing_at=first,
        domain_next_check_at=now + RECHECK_EVERY,
        domain_last_checked_at=now,
    )
    return "missing"


DEFINITE_MISSES = {
    "token_mismatch",
    "token_format",
    "token_at_apex",
    "doubled_name",
    "domain_not_found",
}


def _definitely_gone(result: RecordResult) -> bool:
    """Evidence the owner's token is not where it must be: a wrong or misplaced value, or
    nothing there as the zone's own servers say. A miss only the resolvers saw is not."""
    if result.hint in DEFINITE_MISSES:
        return True
    return result.hint == "token_missing" and result.absent_at_source


def claim_verified_due(*, field: str, lease: timedelta, limit: int) -> list[uuid.UUID]:
    """Claims up to `limit` verified domains whose `field` (a next-check time) is due or
    unset, unset first. SKIP LOCKED keeps concurrent workers off each other's rows, and the
    lease (`field` moved `lease` ahead) brings a row back if its worker dies."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Storefront.objects.select_for_update(skip_locked=True)
            .filter(custom_domain_verified=True)
            .filter(Q(**{f"{field}__lte": now}) | Q(**{f"{field}__isnull": True}))
            .order_by(F(field).asc(nulls_first=True))
            .values_list("pk", flat=True)[:limit]
        )
        Storefront.objects.filter(pk__in=ids).update(**{field: now + lease})
    return ids


def storefronts_recheck_due(*, limit: int = RECHECK_BATCH) -> int:
    """Beat: claims verified domains whose re-check is due (a lease on
    `domain_next_check_at`), and re-checks them."""
    ids = claim_verified_due(field="domain_next_check_at", lease=RECHECK_LEASE, limit=limit)
    for storefront in Storefront.objects.filter(pk__in=ids).select_related("store"):
        try:
            storefront_recheck_domain(storefront=storefront)
        except Exception:  # one row's failure never stops the others; its lease brings it back
            logger.exception("re-check of storefront domain %s failed", storefront.custom_domain)
    return len(ids)


def storefronts_recheck_sweep(*, budget_seconds: float | None = None) -> dict[str, int]:
    """The hourly storefront job (beat and the cron endpoint alike): verified domains due
    their re-check, a batch at a time until none is left (or `budget_seconds` is spent:
    the rest waits for the next run), then the domain holds past their end."""
    checked = sweep(storefronts_recheck_due, batch=RECHECK_BATCH, budget_seconds=budget_seconds)
    return {"checked": checked, "holds_expired": custom_domain_holds_expire()}


def sweep(run_batch: Callable[..., int], *, batch: int, budget_seconds: float | None = None) -> int:
    """`run_batch(limit=batch)` until a batch comes back short (none is left) or the
    budget is spent (the rest waits for the next run); how many it did in all."""
    stop = None if budget_seconds is None else time.monotonic() + budget_seconds
    done = 0
    while True:
        claimed = run_batch(limit=batch)
        done += claimed
        if claimed < batch or (stop is not None and time.monotonic() >= stop):
            return done


# --- orders -------------------------------------------------------------------------------


def _code_hash(storefront: Storefront, email: str, code: str) -> str:
    message = f"{storefront.pk}:{email}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def order_otp_request(*, storefront: Storefront, email: str) -> None:
    email = email.strip().lower()
    now = timezone.now()
    with transaction.atomic():
        # One request at a time per storefront: the per-email limit cannot be raced.
        Storefront.objects.select_for_update().filter(pk=storefront.pk).first()
        recent = OrderOtp.objects.filter(
            storefront=storefront, email=email, created_at__gt=now - OTP_VALID
        ).count()
        if recent >= OTP_MAX_PER_WINDOW:
            raise ServiceError(
                "Too many codes requested; wait a few minutes.", code="OTP_RATE_LIMITED", status=429
            )
        code = f"{secrets.randbelow(1_000_000):06d}"
        OrderOtp.objects.create(
            storefront=storefront,
            email=email,
            code_hash=_code_hash(storefront, email, code),
            expires_at=now + OTP_VALID,
        )
        record(
            action="order.code_requested",
            organization=storefront.store.organization_id,
            targets=[target(storefront, type="storefront", name=storefront.slug)],
            metadata={"email": email},
        )
    send_mail(
        f"Your code for {storefront.title}",
        f"Your code is {code}. It is valid for 10 minutes and can be used once.",
        settings.DEFAULT_FROM_EMAIL,
        [email],
    )


def _check_otp(storefront: Storefront, email: str, code: str) -> int:
    """Spends one try of the newest unused code (taken before the comparison, atomically,
    so parallel guesses cannot pass the limit) and returns the code's id."""
    now = timezone.now()
    otp = (
        OrderOtp.objects.filter(storefront=storefront, email=email, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if otp is None:
        raise ServiceError(
            "The code is not right; request a new one.", code="OTP_INVALID", status=400
        )
    if otp.expires_at <= now:
        raise ServiceError(
            "The code has expired; request a new one.", code="OTP_EXPIRED", status=400
        )
    took_a_try = OrderOtp.objects.filter(pk=otp.pk, attempts__lt=OTP_MAX_ATTEMPTS).update(
        attempts=F("attempts") + 1
    )
    if not took_a_try:
        raise ServiceError(
            "Too many wrong codes; request a new one.", code="OTP_ATTEMPTS_EXCEEDED", status=400
        )
    if not hmac.compare_digest(otp.code_hash, _code_hash(storefront, email, code)):
        raise ServiceError("The code is not right.", code="OTP_INVALID", status=400)
    return otp.pk


def order_place(
    *, storefront: Storefront, email: str, code: str, items: list[dict[str, Any]], name: str = ""
) -> Order:
    """Needs a valid code; takes stock atomically; totals are computed here, never taken
    from the client."""
    email = email.strip().lower()
    otp_id = _check_otp(storefront, email, code)  # outside the order: a wrong try stays spent
    with transaction.atomic():
        # Spent with the order: if the order fails (stock), the code still works.
        spent = OrderOtp.objects.filter(pk=otp_id, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if not spent:
            raise ServiceError("The code was already used.", code="OTP_INVALID", status=400)
        products = {
            str(p.pk): p
            for p in Product.objects.filter(
                storefront=storefront, active=True, pk__in=[i["product_id"] for i in items]
            )
        }
        missing = [str(i["product_id"]) for i in items if str(i["product_id"]) not in products]
        if missing:
            raise InvalidInputError(
                "Unknown product.",
                code="PRODUCT_NOT_FOUND",
                errors={"items": [f"Unknown product {m}." for m in missing]},
            )
        currencies = {p.currency for p in products.values()}
        if len(currencies) > 1:
            raise InvalidInputError(
                "Products in one order must share a currency.", code="MIXED_CURRENCY"
            )
        lines, total = [], Decimal("0")
        for item in items:
            product = products[str(item["product_id"])]
            quantity = int(item["quantity"])
            taken = Product.objects.filter(pk=product.pk, stock__gte=quantity).update(
                stock=F("stock") - quantity
            )
            if not taken:
                raise ServiceError(
                    f"Not enough stock for {product.name}.", code="OUT_OF_STOCK", status=409
                )
            line_total = product.price * quantity
            total += line_total
            lines.append((product, quantity, line_total))
        order = Order.objects.create(
            storefront=storefront,
            customer_email=email,
            customer_name=name.strip(),
            total=total,
            currency=currencies.pop(),
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order, product=p, name=p.name, quantity=q, unit_price=p.price, line_total=t
            )
            for p, q, t in lines
        )
        record(
            action="order.placed",
            organization=storefront.store.organization_id,
            targets=[target(order, type="order", name=str(order.pk))],
            metadata={"total": str(total), "currency": order.currency, "lines": len(lines)},
        )
    return order


def store_create(*, organization: Any, name: str, slug: str) -> Storefront:
    """A store and its (unpublished) storefront."""
    from django.utils.text import slugify

    from storefronts.models import Store

    clean = slugify(slug)[:100]
    if not clean:
        raise InvalidInputError(errors={"slug": ["Use letters, digits and hyphens."]})
    if Storefront.objects.filter(slug=clean).exists():
        raise ConflictError("This slug is taken.", code="SLUG_TAKEN", errors={"slug": ["Taken."]})
    with transaction.atomic():
        store = Store.objects.create(organization=organization, name=name.strip())
        storefront = Storefront.objects.create(store=store, slug=clean, title=name.strip())
        record(
            action="store.created",
            organization=organization,
            targets=[target(storefront, type="storefront", name=clean)],
        )
    return storefront
