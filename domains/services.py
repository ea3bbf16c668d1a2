"""Sending domains: add, re-check, diagnose, warmup, region, tenant, delete. Each change
is one transaction that also records the audit event and publishes the webhook."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Organization, Tenant
from audit.services import Entry, record, record_many, target
from config.dns import dns_resolver, reserved_hosts
from config.errors import ConflictError, InvalidInputError, ServiceError
from dnscheck.check import check_records, summarise
from dnscheck.cloudflare import all_cloudflare
from dnscheck.lookup import View
from dnscheck.names import DomainNameError, normalize_domain, public_suffix_list
from dnscheck.providers import describe_dns_host
from dnscheck.records import ExpectedRecord, Outcome, Purpose, RecordResult
from domains.models import DomainRecord, SendCount, SendingDomain
from domains.providers import (
    ProviderConflict,
    ProviderError,
    ProviderMissing,
    ProviderStatus,
    ProviderUnavailable,
    get_provider,
)
from domains.selectors import sender_cache_forget, sender_cache_forget_many
from webhooks.services import News, publish_many

logger = logging.getLogger(__name__)

OPTIONAL_PURPOSES = {Purpose.DMARC}
RECORD_STATUS = {
    Outcome.OK: DomainRecord.Status.VERIFIED,
    Outcome.MISSING: DomainRecord.Status.PENDING,
    Outcome.MISMATCH: DomainRecord.Status.FAILED,
}
CONTESTED_CLAIM_DAYS = 3  # SES gives up on an unverified identity after 72 hours
# Record names add up to 64 characters before the domain (`<52-char token>._domainkey.`),
# and a DNS name has at most 253.
MAX_SENDING_DOMAIN_LENGTH = 253 - 64


class DomainTakenAtProvider(ConflictError):
    code = "DOMAIN_TAKEN_AT_PROVIDER"
    message = "The domain is already being verified at the email provider by another account."


class DomainAlreadyAdded(ConflictError):
    code = "DOMAIN_ALREADY_ADDED"
    message = "This domain is already added to your organization."


class DomainTaken(ConflictError):
    code = "DOMAIN_TAKEN"
    message = "This domain is verified by another organization."


class ProviderUnavailableError(ServiceError):
    code = "PROVIDER_UNAVAILABLE"
    status = 503
    message = "The email provider did not answer. Nothing was changed; try again shortly."


def _invalid_name(exc: DomainNameError, field_name: str) -> InvalidInputError:
    return InvalidInputError(exc.message, code=exc.code, errors={field_name: [exc.message]})


def _check_regions(region: str, fallback_region: str = "") -> None:
    allowed = settings.SES_ALLOWED_REGIONS
    errors = {}
    if region not in allowed:
        errors["region"] = [f"Choose one of the allowed regions: {', '.join(allowed)}."]
    if fallback_region and fallback_region not in allowed:
        errors["fallback_region"] = [f"Choose one of the allowed regions: {', '.join(allowed)}."]
    if errors:
        raise InvalidInputError(
            next(iter(errors.values()))[0], code="REGION_NOT_ALLOWED", errors=errors
        )
    if fallback_region and fallback_region == region:
        message = "region and fallback_region must differ."
        raise InvalidInputError(
            message, code="REGIONS_MUST_DIFFER", errors={"fallback_region": [message]}
        )


def domain_object(domain: SendingDomain) -> dict[str, Any]:
    """The thin object webhooks and audit carry."""
    return {
        "id": domain.pk,
        "name": domain.display_name,
        "kind": "sending_domain",
        "status": domain.status,
        "provider": domain.provider,
        "region": domain.region,
        "tenant_id": domain.tenant_id,
        "verified_at": domain.verified_at.isoformat() if domain.verified_at else None,
        "created_at": domain.created_at.isoformat() if domain.created_at else None,
    }


def _announce(
    domain: SendingDomain,
    event_type: str,
    *,
    changes: dict[str, list[Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
) -> None:
    """The audit event and the webhook for one lifecycle change, in the caller's
    transaction."""
    entry, news = _announcement(
        domain, event_type, changes=changes, metadata=metadata, previous=previous
    )
    record_many([entry])
    publish_many([news])


def _announcement(
    domain: SendingDomain,
    event_type: str,
    *,
    changes: dict[str, list[Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    previous: dict[str, Any] | None = None,
) -> tuple[Entry, News]:
    targets = [target(domain, type="sending_domain", name=domain.name)]
    return (
        Entry(event_type, domain.organization_id, targets, changes, metadata),
        News(domain.organization_id, event_type, domain_object(domain), previous, domain.tenant),
    )


# --- records -----------------------------------------------------------------------------


def _zone_guess(name: str) -> str:
    """The zone a record most likely lives in, before DNS has told us (registrable domain)."""
    return public_suffix_list().privatesuffix(name) or name


def sync_records(domain: SendingDomain) -> list[DomainRecord]:
    """Makes the stored records match what the provider says to publish; keeps what the
    last check found for records that did not change. Serialised per domain (two
    re-checks may both see new tokens)."""
    with transaction.atomic():
        SendingDomain.objects.select_for_update().filter(pk=domain.pk).first()
        return _sync_records(domain)


def _sync_records(domain: SendingDomain) -> list[DomainRecord]:
    zone = next(
        (r.zone for r in DomainRecord.objects.filter(domain=domain) if r.zone),
        _zone_guess(domain.name),
    )
    expected = get_provider(domain.provider).records(domain)
    keys = {(r.type, r.name, r.purpose) for r in expected}
    DomainRecord.objects.filter(domain=domain).exclude(
        pk__in=[
            r.pk
            for r in DomainRecord.objects.filter(domain=domain)
            if (r.type, r.hostname, r.purpose) in keys
        ]
    ).delete()
    existing = {
        (r.type, r.hostname, r.purpose): r for r in DomainRecord.objects.filter(domain=domain)
    }
    rows = []
    for position, item in enumerate(expected):
        row = existing.get((item.type, item.name, item.purpose))
        placed = item.in_zone(zone)
        if row is None:
            row = DomainRecord(
                domain=domain,
                type=item.type,
                hostname=item.name,
                purpose=item.purpose,
                value=item.value,
                host=placed.host,
                zone=zone,
                required=item.purpose not in OPTIONAL_PURPOSES,
                position=position,
            )
            row.save()
        elif row.value != item.value or row.position != position:
            row.value, row.position = item.value, position
            row.status, row.hint, row.seen_value = DomainRecord.Status.PENDING, "", ""
            row.save()
        rows.append(row)
    return rows


def expected_records(domain: SendingDomain) -> list[ExpectedRecord]:
    """For reads (diagnose): the records as loaded, prefetched or not. A check that may
    have replaced them (`_verify`, the engine) reads them fresh."""
    return _expected(domain.records.all())


def _expected(rows: Iterable[DomainRecord]) -> list[ExpectedRecord]:
    return [ExpectedRecord(r.type, r.hostname, r.value, r.purpose) for r in rows]


RESULT_FIELDS = ["zone", "host", "hint", "fix", "seen_value", "suggested_value", "status"]


def _apply_results(
    rows: list[DomainRecord], results: list[RecordResult], now: datetime
) -> list[DomainRecord]:
    """What a check found, on the rows (only the fields a check sets); returns the rows
    whose findings changed. A record whose lookup failed keeps its last status."""
    by_key = {(r.type, r.hostname, r.purpose): r for r in rows}
    changed = []
    for result in results:
        row = by_key.get((result.record.type, result.record.name, result.record.purpose))
        if row is None:
            continue
        before = [getattr(row, name) for name in RESULT_FIELDS]
        row.zone = result.record.zone or row.zone
        row.host = result.record.host if result.record.zone else row.host
        row.hint = result.hint or ""
        row.fix = result.fix
        row.seen_value = result.seen_value or ""
        row.suggested_value = result.suggested_value or ""
        row.checked_at = now
        if result.outcome != Outcome.ERROR:
            row.status = RECORD_STATUS[result.outcome]
        if [getattr(row, name) for name in RESULT_FIELDS] != before:
            changed.append(row)
    return changed


def _store_results(
    domains: list[SendingDomain], changed: list[DomainRecord], now: datetime
) -> None:
    """The changed rows' findings, and every record of these domains checked `now`."""
    _write_results(changed)
    DomainRecord.objects.filter(domain__in=domains).update(checked_at=now)


def _check_dns(domain: SendingDomain, *, public_view: View = View.PUBLIC) -> list[RecordResult]:
    return asyncio.run(
        check_records(dns_resolver(), expected_records(domain), public_view=public_view)
    )


# --- add ---------------------------------------------------------------------------------


def sending_domain_create(
    *,
    organization: Organization,
    name: str,
    tenant: Tenant | None = None,
    region: str | None = None,
    mail_from_label: str = "",
    provider: str | None = None,
    name_field: str = "name",
) -> SendingDomain:
    try:
        domain_name = normalize_domain(name, reserved=reserved_hosts())
    except DomainNameError as exc:
        raise _invalid_name(exc, name_field) from exc
    if len(domain_name.ascii) > MAX_SENDING_DOMAIN_LENGTH:
        message = (
            f"A sending domain has at most {MAX_SENDING_DOMAIN_LENGTH} characters, so that "
            "its DKIM record names fit in DNS."
        )
        raise InvalidInputError(message, code="TOO_LONG", errors={name_field: [message]})
    region = region or settings.AWS_REGION
    _check_regions(region)
    if tenant is not None and tenant.organization_id != organization.pk:
        raise InvalidInputError("No such tenant.", errors={"tenant_id": ["No such tenant."]})
    if mail_from_label and (
        not mail_from_label.isascii() or not mail_from_label.replace("-", "").isalnum()
    ):
        raise InvalidInputError(errors={"mail_from_label": ["Use letters, digits and hyphens."]})
    if SendingDomain.objects.filter(organization=organization, name=domain_name.ascii).exists():
        raise DomainAlreadyAdded(errors={name_field: [DomainAlreadyAdded.message]})
    if SendingDomain.objects.filter(
        name=domain_name.ascii, status=SendingDomain.Status.VERIFIED
    ).exists():
        raise DomainTaken(errors={name_field: [DomainTaken.message]})

    domain = SendingDomain(
        organization=organization,
        tenant=tenant,
        name=domain_name.ascii,
        display_name=domain_name.display,
        provider=provider or settings.EMAIL_PROVIDER,
        region=region,
        mail_from_label=mail_from_label.lower(),
        next_check_at=timezone.now(),
    )
    backend = get_provider(domain.provider)
    try:
        backend.create(domain)
    except ProviderConflict as exc:
        _take_over_or_refuse(domain, exc, name_field)
    except ProviderUnavailable as exc:
        raise ProviderUnavailableError(detail_message(exc)) from exc
    except ProviderError as exc:
        raise ServiceError(str(exc), code="PROVIDER_REJECTED", status=400) from exc
    try:
        with transaction.atomic():
            domain.save(force_insert=True)
            sync_records(domain)
            _announce(
                domain,
                "domain.created",
                changes={"status": [None, domain.status]},
                metadata={"provider": domain.provider, "region": domain.region},
            )
    except IntegrityError as exc:  # the same name, added twice at once
        raise DomainAlreadyAdded(errors={name_field: [DomainAlreadyAdded.message]}) from exc
    sender_cache_forget(domain)  # a "not found" answered before is stale now
    return domain


def detail_message(exc: Exception) -> str:
    return f"{ProviderUnavailableError.message} ({exc})"


def _take_over_or_refuse(domain: SendingDomain, exc: ProviderConflict, name_field: str) -> None:
    """SES already has this identity in our account and region. Another organization's
    claim on it stands while it is verified, or was ever verified, or is younger than 3
    days: 409. Otherwise that claim gives way (it proved nothing), and the identity is
    created afresh: new DKIM tokens, so nothing published for the old claim can verify
    the new one. An identity with no claim at all (a delete that failed) is renewed the
    same way."""
    refused = DomainTakenAtProvider(
        friendly_message=(
            "Another account is already verifying this domain with our email provider. If "
            "it is yours, publish its DNS records to prove it; an unverified claim expires "
            f"after {CONTESTED_CLAIM_DAYS} days and the domain can then be added here."
        ),
        errors={name_field: [DomainTakenAtProvider.message]},
    )
    expired_before = timezone.now() - timedelta(days=CONTESTED_CLAIM_DAYS)
    with transaction.atomic():
        claims = list(
            SendingDomain.objects.select_for_update()
            .filter(name=domain.name, region=domain.region, provider="ses")
            .exclude(organization=domain.organization)
        )
        live = [
            c
            for c in claims
            if c.verified_at is not None
            or c.status == SendingDomain.Status.VERIFIED
            or (c.status == SendingDomain.Status.PENDING and c.created_at > expired_before)
        ]
        if live:
            raise refused from exc
        for stale in claims:
            _announce(
                stale,
                "domain.removed",
                metadata={"reason": "unverified claim expired; the domain was added elsewhere"},
            )
            stale.delete()
            sender_cache_forget(stale)
    backend = get_provider("ses")
    try:
        backend.recreate(domain)
    except ProviderUnavailable as inner:
        raise ProviderUnavailableError(detail_message(inner)) from inner
    except ProviderError as inner:
        raise ServiceError(str(inner), code="PROVIDER_REJECTED", status=400) from inner


# --- re-check ----------------------------------------------------------------------------


@dataclass
class VerifyOutcome:
    domain: SendingDomain
    changed: bool
    transient: bool
    message: str
    provider_status: ProviderStatus | None = None
    results: list[RecordResult] = field(default_factory=list)


def sending_domain_verify(*, domain: SendingDomain, requested: bool = False) -> VerifyOutcome:
    """Asks the provider and checks every record in DNS, then moves the status only on
    evidence: a provider or DNS failure that may pass changes nothing. `requested`: a
    person asked (recorded in the audit log; the background checks are not)."""
    if requested and domain.status == SendingDomain.Status.FAILED and domain.provider == "ses":
        _restart(domain)
    outcome = _verify(domain)
    if requested and not outcome.transient:
        # An owner who just clicked is likely publishing records now: look every minute.
        soon = timezone.now() + (
            timedelta(hours=24)
            if domain.status == SendingDomain.Status.VERIFIED
            else timedelta(minutes=1)
        )
        SendingDomain.objects.filter(pk=domain.pk).update(next_check_at=soon)
    if requested:
        record(
            action="domain.recheck_requested",
            organization=domain.organization_id,
            targets=[target(domain, type="sending_domain", name=domain.name)],
            metadata={
                "status": domain.status,
                "changed": outcome.changed,
                "transient": outcome.transient,
            },
        )
    return outcome


def _restart(domain: SendingDomain) -> None:
    """SES gave up on this identity: a fresh one (new tokens) starts verification over."""
    try:
        get_provider("ses").recreate(domain)
    except ProviderError:
        return  # reported by the check that follows
    SendingDomain.objects.filter(pk=domain.pk).update(ses_dkim_tokens=domain.ses_dkim_tokens)
    sync_records(domain)
    _transition(
        domain, SendingDomain.Status.PENDING, ProviderStatus(verified=False), timezone.now()
    )


def _verify(domain: SendingDomain) -> VerifyOutcome:
    asked = _ask_provider(domain)
    if isinstance(asked, VerifyOutcome):
        return asked
    outcome = _check_and_decide([(domain, asked)])[domain.pk]
    if not outcome.changed:
        SendingDomain.objects.filter(pk=domain.pk).update(**_checked_fields(domain, outcome))
    return outcome


def _checked_fields(domain: SendingDomain, outcome: VerifyOutcome) -> dict[str, Any]:
    """What a check that moved no status leaves on the domain's row (`_check_and_decide`
    set them on `domain`): when it looked, and, unless DNS failed, the provider's error."""
    if outcome.transient:
        return {"last_checked_at": domain.last_checked_at}
    return {
        "last_checked_at": domain.last_checked_at,
        "provider_error_type": domain.provider_error_type,
    }


def _write_results(rows: list[DomainRecord], batch: int = 500) -> None:
    """The findings of many record rows in one UPDATE ... FROM (VALUES ...) per batch
    (PostgreSQL and SQLite both take it); bulk_update's CASE per field and row costs far
    more to build than the statement costs to run."""
    table = connection.ops.quote_name(DomainRecord._meta.db_table)
    columns = [
        connection.ops.quote_name(DomainRecord._meta.get_field(f).column) for f in RESULT_FIELDS
    ]
    assignments = ", ".join(f"{column} = v.column{i + 2}" for i, column in enumerate(columns))
    key = connection.ops.quote_name(DomainRecord._meta.pk.column)
    width = len(RESULT_FIELDS) + 1
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part))
        params = [p for row in part for p in (row.pk, *(getattr(row, f) for f in RESULT_FIELDS))]
        # Table and column names come from the model; every value is a parameter.
        sql = f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v "  # noqa: S608
        sql += f"WHERE {table}.{key} = CAST(v.column1 AS BIGINT)"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def sending_domains_verify_many(domains: list[SendingDomain]) -> list[VerifyOutcome]:
    """What the engine runs for a chunk: the provider asked per domain (rate limited), then
    every record of every domain checked in one concurrent DNS batch, then each domain's
    status decided on its own results. The chunk's record rows are read in one query and
    written in two statements. A domain whose status stays is not written here: the
    caller writes when it was checked (and the provider's error) with its schedule."""
    asked = [(domain, _ask_provider(domain)) for domain in domains]
    decided = _check_and_decide([(d, a) for d, a in asked if isinstance(a, ProviderStatus)])
    return [a if isinstance(a, VerifyOutcome) else decided[d.pk] for d, a in asked]


def _check_and_decide(
    waiting: list[tuple[SendingDomain, ProviderStatus]],
) -> dict[str, VerifyOutcome]:
    """The DNS half of a check, for domains whose provider was asked: every record in one
    concurrent batch, the findings stored, each status decided on its own results."""
    # Read after the provider was asked (which may have replaced records).
    rows_of: dict[str, list[DomainRecord]] = {d.pk: [] for d, _ in waiting}
    for row in DomainRecord.objects.filter(domain__in=list(rows_of)):
        rows_of[row.domain_id].append(row)
    per_domain = [_expected(rows_of[d.pk]) for d, _ in waiting]
    flat = [record for records in per_domain for record in records]
    results = asyncio.run(check_records(dns_resolver(), flat)) if flat else []
    now = timezone.now()  # one instant for the chunk: its unchanged domains share updates
    decided: dict[str, VerifyOutcome] = {}
    found: list[tuple[SendingDomain, ProviderStatus, list[RecordResult]]] = []
    changed: list[DomainRecord] = []
    start = 0
    for (domain, status), records in zip(waiting, per_domain, strict=True):
        part = results[start : start + len(records)]
        changed += _apply_results(rows_of[domain.pk], part, now)
        found.append((domain, status, part))
        start += len(records)
    _store_results([d for d, _ in waiting], changed, now)
    moves = []
    for domain, status, part in found:
        new_status = _new_status(domain, status, part, rows_of[domain.pk])
        if new_status is None:
            domain.last_checked_at = now
            decided[domain.pk] = VerifyOutcome(
                domain,
                False,
                True,
                "DNS did not answer for some records. Nothing changed; we will retry.",
                status,
                part,
            )
        elif new_status == domain.status:
            domain.last_checked_at, domain.provider_error_type = now, status.error_type
        else:
            moves.append(Move(domain, new_status, status))
    moved = _transition_many(moves, now)
    for domain, status, part in found:
        if domain.pk not in decided:
            decided[domain.pk] = _outcome(domain, domain.pk in moved, status, part)
    return decided


def _ask_provider(domain: SendingDomain) -> ProviderStatus | VerifyOutcome:
    """The provider's word, or the outcome already (a failure, a recreated identity)."""
    backend = get_provider(domain.provider)
    tokens_before = list(domain.ses_dkim_tokens)
    try:
        provider_status = backend.status(domain)
    except ProviderUnavailable as exc:
        return VerifyOutcome(domain, False, True, f"{exc}. Nothing changed; we will retry.")
    except ProviderMissing:
        # Deleted at the provider, outside this product: evidence it cannot send. Create
        # it again so the customer gets records that can verify.
        try:
            backend.create(domain)
        except ProviderError as exc:
            return VerifyOutcome(domain, False, True, f"{exc}. Nothing changed; we will retry.")
        SendingDomain.objects.filter(pk=domain.pk).update(ses_dkim_tokens=domain.ses_dkim_tokens)
        sync_records(domain)
        missing = ProviderStatus(verified=False, error_type="IDENTITY_MISSING")
        changed = _transition(domain, SendingDomain.Status.PENDING, missing, timezone.now())
        return VerifyOutcome(
            domain,
            changed,
            False,
            "The identity had been deleted at the provider; it was created again. Publish "
            "the new records.",
            missing,
        )
    except ProviderError as exc:
        return VerifyOutcome(domain, False, True, f"{exc}. Nothing changed.")
    if domain.ses_dkim_tokens != tokens_before:
        SendingDomain.objects.filter(pk=domain.pk).update(ses_dkim_tokens=domain.ses_dkim_tokens)
        sync_records(domain)
    return provider_status


def _new_status(
    domain: SendingDomain,
    provider_status: ProviderStatus,
    results: list[RecordResult],
    rows: list[DomainRecord],
) -> str | None:
    """The status the evidence supports; None when DNS failed for a required record (the
    provider leaving it to DNS), which is no evidence either way."""
    required = {(r.type, r.hostname, r.purpose) for r in rows if r.required}
    required_results = [
        r for r in results if (r.record.type, r.record.name, r.record.purpose) in required
    ]
    if provider_status.verified is not None:  # the provider decides (SES)
        if provider_status.verified:
            return SendingDomain.Status.VERIFIED
        if provider_status.failed and domain.status != SendingDomain.Status.VERIFIED:
            return SendingDomain.Status.FAILED  # a verified domain that fails is unverified
        return SendingDomain.Status.PENDING
    if any(r.outcome == Outcome.ERROR for r in required_results):
        return None
    if required_results and all(r.ok for r in required_results):
        return SendingDomain.Status.VERIFIED
    return SendingDomain.Status.PENDING


def _outcome(
    domain: SendingDomain,
    changed: bool,
    provider_status: ProviderStatus,
    results: list[RecordResult],
) -> VerifyOutcome:
    """What a check that gave evidence says to its caller. A check that moved nothing is
    only noted on `domain` (`_checked_fields`): its caller writes it, alone or with a
    chunk's."""
    summary = summarise(results)
    message = {
        SendingDomain.Status.VERIFIED: "The domain is verified and can send mail.",
        SendingDomain.Status.FAILED: "Verification failed at the provider. Once the records "
        "are right, re-check: that restarts it with a fresh identity and new records.",
    }.get(domain.status, f"{summary.ok_count} of {summary.total} records are in place.")
    return VerifyOutcome(domain, changed, False, message, provider_status, results)


@dataclass(frozen=True)
class Move:
    """A status change the evidence supports, from the status `domain` was read with."""

    domain: SendingDomain
    new_status: str
    provider_status: ProviderStatus


def _transition(
    domain: SendingDomain,
    new_status: str,
    provider_status: ProviderStatus,
    now: Any,
) -> bool:
    """One domain's status change (or, to the same status, when it was checked), as
    `_transition_many`."""
    if new_status == domain.status:
        SendingDomain.objects.filter(pk=domain.pk).update(
            last_checked_at=now, provider_error_type=provider_status.error_type
        )
        domain.last_checked_at, domain.provider_error_type = now, provider_status.error_type
        return False
    return domain.pk in _transition_many([Move(domain, new_status, provider_status)], now)


def _transition_many(moves: list[Move], now: datetime) -> set[str]:
    """Compare-and-swap from the status each domain was read with, in one transaction: a
    concurrent check that got there first wins, and events fire once. Returns the pks that
    moved; the domains are updated in memory (those that did not move, read again). Rows
    are locked, swapped and announced a group at a time (by old and new status), so a
    chunk's changes cost a dozen round trips, not a dozen each."""
    if not moves:
        return set()
    groups: dict[tuple[str, str, str | None], list[str]] = defaultdict(list)
    for move in moves:
        key = (move.domain.status, move.new_status, move.provider_status.error_type)
        groups[key].append(move.domain.pk)
    moved: set[str] = set()
    swapped = False
    try:
        with transaction.atomic():
            for (old_status, new_status, error_type), pks in groups.items():
                locked = list(
                    SendingDomain.objects.select_for_update()
                    .filter(pk__in=pks, status=old_status)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                updates: dict[str, Any] = {
                    "status": new_status,
                    "last_checked_at": now,
                    "provider_error_type": error_type,
                }
                if new_status == SendingDomain.Status.VERIFIED:
                    updates["verified_at"] = now
                elif old_status == SendingDomain.Status.VERIFIED:
                    updates["verified_at"] = None  # verified_at says since when it is verified
                SendingDomain.objects.filter(pk__in=locked, status=old_status).update(**updates)
                moved.update(locked)
            swapped = True
            announcements = [_moved(move, now) for move in moves if move.domain.pk in moved]
            record_many([entry for entry, _ in announcements])
            publish_many([news for _, news in announcements if news is not None])
    except IntegrityError:
        if swapped:  # not the swap's unique name: nothing was written, and nothing hides it
            raise
        # Another organization verified a name first: it is theirs. One at a time, to find
        # which.
        if len(moves) > 1:
            return set().union(*(_transition_many([move], now) for move in moves))
        domain = moves[0].domain
        domain.refresh_from_db()
        DomainRecord.objects.filter(domain=domain).update(
            hint="domain_taken", fix="Another organization verified this domain first."
        )
        return set()
    sender_cache_forget_many([move.domain for move in moves if move.domain.pk in moved])
    for move in moves:
        if move.domain.pk not in moved:
            move.domain.refresh_from_db()
    return moved


def _moved(move: Move, now: datetime) -> tuple[Entry, News | None]:
    """Notes a swapped move on its domain in memory; its audit event and webhook (none for
    a restart: failed -> pending is not an unverification)."""
    domain, old_status, new_status = move.domain, move.domain.status, move.new_status
    domain.status, domain.last_checked_at = new_status, now
    domain.provider_error_type = move.provider_status.error_type
    if new_status == SendingDomain.Status.VERIFIED:
        domain.verified_at = now
    elif old_status == SendingDomain.Status.VERIFIED:
        domain.verified_at = None
    event = {
        SendingDomain.Status.VERIFIED: "domain.verified",
        SendingDomain.Status.FAILED: "domain.failed",
    }.get(new_status, "domain.unverified")
    changes = {"status": [old_status, new_status]}
    if event == "domain.unverified" and old_status != SendingDomain.Status.VERIFIED:
        targets = [target(domain, type="sending_domain", name=domain.name)]
        return Entry(
            "domain.verification_restarted", domain.organization_id, targets, changes
        ), None
    return _announcement(
        domain,
        event,
        changes=changes,
        metadata={"provider_error_type": move.provider_status.error_type},
        previous={"status": old_status},
    )


# --- diagnose ------------------------------------------------------------------------------


@dataclass
class Diagnosis:
    results: list[RecordResult]
    summary: Any
    apex: dict[str, Any]
    provider: dict[str, Any]


def sending_domain_diagnose(*, domain: SendingDomain) -> Diagnosis:
    """Every record through the public DNS-over-HTTPS view and the zone's own servers,
    with a hint and fix each; the apex's addresses for Cloudflare proxy detection; and the
    provider's own error, if any. Reads only: nothing is stored."""
    results = _check_dns(domain, public_view=View.DOH)
    apex_name = _zone_guess(domain.name)
    resolver = dns_resolver()

    async def apex_lookups() -> tuple[Any, Any, Any]:
        return await asyncio.gather(
            resolver.doh(apex_name, "A"),
            resolver.doh(apex_name, "AAAA"),
            resolver.zone_for(apex_name),
        )

    a, aaaa, zone = asyncio.run(apex_lookups())
    addresses = [*a.values, *aaaa.values]
    provider_info: dict[str, Any] = {
        "name": domain.provider,
        "error_type": domain.provider_error_type,
    }
    if domain.provider == "ses":
        try:
            status = get_provider("ses").status(domain)
            provider_info |= {
                "verified": status.verified,
                "dkim_status": status.dkim_status,
                "error_type": status.error_type,
            }
        except ProviderError as exc:
            provider_info["unavailable"] = str(exc)
    return Diagnosis(
        results=results,
        summary=summarise(results, zone_nameservers=zone.nameservers),
        apex={
            "name": apex_name,
            "addresses": addresses,
            "cloudflare_proxied": all_cloudflare(addresses),
            "dns_host": describe_dns_host(zone.nameservers) if zone.found else None,
            "lookup_status": a.status,
        },
        provider=provider_info,
    )


# --- warmup, region, tenant ---------------------------------------------------------------


def sending_domain_start_warmup(*, domain: SendingDomain, total_days: int = 14) -> SendingDomain:
    if not 1 <= total_days <= 60:
        raise InvalidInputError(
            "total_days must be from 1 to 60.", errors={"total_days": ["Must be from 1 to 60."]}
        )
    before = (domain.warmup_started_at, domain.warmup_total_days)
    with transaction.atomic():
        domain.warmup_started_at = timezone.now()
        domain.warmup_total_days = total_days
        domain.warmup_completed_at = None
        domain.save(
            update_fields=[
                "warmup_started_at",
                "warmup_total_days",
                "warmup_completed_at",
                "updated_at",
            ]
        )
        _announce(
            domain,
            "domain.warmup_started",
            changes={
                "warmup_started_at": [
                    before[0].isoformat() if before[0] else None,
                    domain.warmup_started_at.isoformat(),
                ],
                "warmup_total_days": [before[1], total_days],
            },
        )
    sender_cache_forget(domain)  # caps apply to the next send
    return domain


def sending_domain_set_region(
    *, domain: SendingDomain, region: str, fallback_region: str = ""
) -> SendingDomain:
    """Moves the domain to another region. SES identities are per region: one is created
    there (under the same rules as an add), its records replace the old, and the domain
    verifies again there; the old region's identity is deleted, best effort."""
    _check_regions(region, fallback_region)
    before = {"region": domain.region, "fallback_region": domain.fallback_region}
    moved = region != domain.region
    if moved and domain.provider == "ses":
        backend = get_provider("ses")
        old_region = domain.region
        domain.region = region
        try:
            try:
                backend.create(domain)
            except ProviderConflict as exc:
                _take_over_or_refuse(domain, exc, "region")
        except ProviderUnavailable as exc:
            domain.region = old_region
            raise ProviderUnavailableError(detail_message(exc)) from exc
        except ProviderError as exc:
            domain.region = old_region
            raise ServiceError(str(exc), code="PROVIDER_REJECTED", status=400) from exc
        except ServiceError:
            domain.region = old_region
            raise
        _delete_at_provider(domain, region=old_region)
    with transaction.atomic():
        domain.region, domain.fallback_region = region, fallback_region
        domain.save(update_fields=["region", "fallback_region", "ses_dkim_tokens", "updated_at"])
        sync_records(domain)
        _announce(
            domain,
            "domain.region_changed",
            changes={
                k: [before[k], getattr(domain, k)]
                for k in before
                if before[k] != getattr(domain, k)
            },
            previous=before,
        )
    if moved and domain.provider == "ses" and domain.status != SendingDomain.Status.PENDING:
        _transition(
            domain, SendingDomain.Status.PENDING, ProviderStatus(verified=False), timezone.now()
        )
    sender_cache_forget(domain)
    return domain


def sending_domain_set_tenant(*, domain: SendingDomain, tenant: Tenant | None) -> SendingDomain:
    if tenant is not None and tenant.organization_id != domain.organization_id:
        raise InvalidInputError("No such tenant.", errors={"tenant_id": ["No such tenant."]})
    previous = domain.tenant_id
    with transaction.atomic():
        domain.tenant = tenant
        domain.save(update_fields=["tenant", "updated_at"])
        _announce(
            domain,
            "domain.tenant_changed",
            changes={"tenant_id": [previous, domain.tenant_id]},
            previous={"tenant_id": previous},
        )
    sender_cache_forget(domain)  # the next send sees the new binding
    return domain


# --- delete ------------------------------------------------------------------------------


def _delete_at_provider(domain: SendingDomain, region: str | None = None) -> str:
    """Best effort: a provider failure is logged for an operator and does not block us."""
    if domain.provider != "ses":
        return ""
    original = domain.region
    domain.region = region or domain.region
    try:
        get_provider("ses").delete(domain)
    except ProviderError as exc:
        logger.error(
            "SES identity %s in %s could not be deleted; reconcile it in the AWS console: %s",
            domain.name,
            domain.region,
            exc,
        )
        return str(exc)
    finally:
        domain.region = original
    return ""


def sending_domain_delete(
    *, domain: SendingDomain, reason: str = "", call_provider: bool = True
) -> bool:
    """Deletes the domain (at the provider too) and announces it, once: a second delete
    of the same row (a double click, two tabs) waits for the first and finds nothing,
    returning False."""
    with transaction.atomic():
        locked = SendingDomain.objects.select_for_update().filter(pk=domain.pk)
        if not list(locked.values_list("pk", flat=True)):
            return False
        provider_error = _delete_at_provider(domain) if call_provider else ""
        _announce(
            domain,
            "domain.removed",
            metadata={"provider_error": provider_error, "reason": reason},
        )
        domain.delete()
    sender_cache_forget(domain)
    return True


# --- warmup bookkeeping -----------------------------------------------------------------


def sending_domains_complete_warmup(*, now: datetime | None = None) -> int:
    """Marks domains whose warmup has run its days as warm (no cap any more), once each,
    and announces it."""
    now = now or timezone.now()
    done = 0
    candidates = SendingDomain.objects.filter(
        warmup_started_at__isnull=False, warmup_completed_at__isnull=True
    )
    for domain in candidates:
        days_in = (now.date() - domain.warmup_started_at.date()).days
        if days_in < domain.warmup_total_days:
            continue
        with transaction.atomic():
            marked = SendingDomain.objects.filter(
                pk=domain.pk, warmup_completed_at__isnull=True
            ).update(warmup_completed_at=now)
            if marked:
                domain.warmup_completed_at = now
                _announce(
                    domain,
                    "domain.warmup_completed",
                    changes={"warmup_completed_at": [None, now.isoformat()]},
                )
                done += 1
    return done


def send_counts_prune(*, now: datetime | None = None) -> int:
    """Forgets the database's daily send counters older than yesterday (UTC): only today's
    caps are enforced, and yesterday's is kept to be read. Redis counters expire alone."""
    today = (now or timezone.now()).date()
    deleted, _ = SendCount.objects.filter(day__lt=today - timedelta(days=1)).delete()
    return deleted


def warmup_bookkeeping() -> dict[str, int]:
    """The daily warmup job (beat and the cron endpoint alike): warm domains marked, old
    counters pruned."""
    return {"completed": sending_domains_complete_warmup(), "pruned": send_counts_prune()}
