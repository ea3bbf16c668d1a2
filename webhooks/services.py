"""Webhooks: endpoints, publishing events into the outbox, and the relay that delivers
them (shared/WEBHOOKS.md). Other apps call `publish()` inside their own transaction; the
relay sends after commit, claims rows so two relays never send the same attempt, and
retries on the published schedule."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Count, F, Max, Min, Q
from django.utils import timezone

from accounts.models import Organization, Tenant
from audit.context import Actor
from audit.services import changes_between, record, target
from config.crypto import decrypt, encrypt
from config.dns import dns_resolver
from config.errors import ConflictError, InvalidInputError, ServiceError
from webhooks import notifications, transport
from webhooks.event_types import EVENT_TYPES
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.signing import new_secret, signature_header
from webhooks.ssrf import Target, UnsafeTarget, check_url

logger = logging.getLogger(__name__)

# Delays after attempts 1..9 (seconds): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.10  # each delay is stretched by up to 10 %, never shortened
RETRY_AFTER_STATUSES = {429, 502, 503, 504}
RETRY_AFTER_CAP = 86400
LEASE = timedelta(seconds=transport.TOTAL_TIMEOUT * 4)  # a claimed row is left alone this long
SWEEP_GRACE = timedelta(seconds=30)  # rows due this long ago were not picked up on time
DISABLE_AFTER = timedelta(days=5)
EXHAUSTIONS_APART = timedelta(hours=12)
ROTATION_OVERLAP = timedelta(hours=24)
MAX_PAYLOAD_BYTES = 20 * 1024


class UnsafeWebhookUrl(ServiceError):
    code = "UNSAFE_WEBHOOK_URL"
    status = 400


class EndpointDisabled(ConflictError):
    code = "ENDPOINT_DISABLED"
    message = "The endpoint is disabled: enable it first."


# --- endpoints ----------------------------------------------------------------------------


def _checked_url(url: str) -> Target:
    try:
        return check_url(
            url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS, resolver=dns_resolver()
        )
    except UnsafeTarget as exc:
        raise UnsafeWebhookUrl(
            exc.message, errors={"url": [exc.message]}, extra={"reason": exc.code}
        ) from exc


def _checked_event_types(event_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInputError(
            f"Unknown event types: {', '.join(unknown)}.",
            errors={"event_types": [f"Unknown event type: {t}." for t in unknown]},
        )
    return sorted(set(event_types))


def _checked_tenant(organization: Organization, tenant: Tenant | None) -> Tenant | None:
    if tenant is not None and tenant.organization_id != organization.pk:
        raise InvalidInputError(errors={"tenant_id": ["No such tenant."]})
    return tenant


def _summary(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "tenant_id": endpoint.tenant_id,
        "enabled": endpoint.enabled,
    }


@transaction.atomic
def endpoint_create(
    *,
    organization: Organization,
    url: str,
    description: str = "",
    event_types: Sequence[str] = (),
    tenant: Tenant | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Returns the endpoint and its secret, which is shown this once."""
    _checked_url(url)
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(
        organization=organization,
        tenant=_checked_tenant(organization, tenant),
        url=url.strip(),
        description=description.strip(),
        event_types=_checked_event_types(event_types),
        secret_encrypted=encrypt(secret),
        enabled_at=timezone.now(),
    )
    record(
        action="webhook_endpoint.created",
        organization=organization,
        targets=[target(endpoint, name=endpoint.url)],
        changes={k: [None, v] for k, v in _summary(endpoint).items()},
    )
    return endpoint, secret


def endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    description: str | None = None,
    event_types: Sequence[str] | None = None,
    tenant: Tenant | type[Ellipsis] | None = ...,
) -> WebhookEndpoint:
    """Changes only the fields given, on the row as it is now (locked), so a relay that
    disabled the endpoint or a rotation in between is not undone."""
    if url is not None:
        _checked_url(url)  # DNS, before the row lock
    wanted: dict[str, Any] = {}
    if url is not None:
        wanted["url"] = url.strip()
    if description is not None:
        wanted["description"] = description.strip()
    if event_types is not None:
        wanted["event_types"] = _checked_event_types(event_types)
    if tenant is not ...:
        wanted["tenant"] = _checked_tenant(endpoint.organization, tenant)  # type: ignore[arg-type]
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        before = _summary(locked)
        for name, value in wanted.items():
            setattr(locked, name, value)
        changes = changes_between(before, _summary(locked))
        if changes:
            locked.save(update_fields=[*wanted, "updated_at"])
            record(
                action="webhook_endpoint.updated",
                organization=locked.organization_id,
                targets=[target(locked, name=locked.url)],
                changes=changes,
            )
    return locked


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    record(
        action="webhook_endpoint.deleted",
        organization=endpoint.organization_id,
        targets=[target(endpoint, name=endpoint.url)],
    )
    endpoint.delete()


@transaction.atomic
def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret signs from now on; the old one keeps signing beside it for 24 hours,
    so receivers can switch without dropping a message."""
    secret = new_secret()
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret_encrypted = locked.secret_encrypted
    endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    endpoint.secret_encrypted = encrypt(secret)
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    record(
        action="webhook_endpoint.secret_rotated",
        organization=endpoint.organization_id,
        targets=[target(endpoint, name=endpoint.url)],
        metadata={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
    )
    return secret


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    _checked_url(endpoint.url)
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if locked.enabled:
            return locked
        previous_reason = locked.disabled_reason
        locked.enabled = True
        locked.disabled_reason = ""
        locked.disabled_at = None
        locked.enabled_at = timezone.now()
        locked.exhaustion_notified_at = None
        locked.save(
            update_fields=[
                "enabled",
                "disabled_reason",
                "disabled_at",
                "enabled_at",
                "exhaustion_notified_at",
                "updated_at",
            ]
        )
        endpoint = locked
        record(
            action="webhook_endpoint.enabled",
            organization=endpoint.organization_id,
            targets=[target(endpoint, name=endpoint.url)],
            changes={"enabled": [False, True]},
            metadata={"disabled_reason": previous_reason},
        )
    return endpoint


RELAY = Actor.system("webhook relay")


def endpoint_disable(
    *,
    endpoint: WebhookEndpoint,
    reason: str,
    actor: Actor | None = RELAY,
    notify: bool = True,
) -> bool:
    """Disables it (once; a second call is a no-op), cancels what is still queued for it,
    and tells the owners. Returns whether this call disabled it. By default the relay
    acts; `actor=None` records whoever the current request acts as (an owner disabling it
    by hand, who needs no email about their own click: `notify=False`)."""
    now = timezone.now()
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:500], disabled_at=now, updated_at=now
        )
        if not disabled:
            return False
        WebhookDelivery.objects.filter(
            endpoint=endpoint, status=WebhookDelivery.Status.PENDING
        ).update(status=WebhookDelivery.Status.CANCELLED, finished_at=now, next_attempt_at=None)
        record(
            action="webhook_endpoint.disabled",
            organization=endpoint.organization_id,
            targets=[target(endpoint, name=endpoint.url)],
            changes={"enabled": [True, False]},
            metadata={"reason": reason},
            actor=actor,
        )
        if notify:
            transaction.on_commit(lambda: notifications.notify_disabled(endpoint, reason))
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
    return True


def signing_secrets(endpoint: WebhookEndpoint, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    secrets_in_use = [decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets_in_use.append(decrypt(endpoint.previous_secret_encrypted))
    return secrets_in_use


# --- publishing -------------------------------------------------------------------------


def publish(
    *,
    organization: Organization | str,
    type: str,
    obj: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
    tenant: Tenant | None = None,
    only_endpoint: WebhookEndpoint | None = None,
) -> WebhookEvent:
    """Writes the event and one delivery per matching endpoint, in the caller's
    transaction; the relay is asked to send them once it commits. `obj` is the thin object
    (id, name, kind, status, times, tenant)."""
    news = News(organization, type, obj, previous_attributes, tenant)
    return publish_many([news], only_endpoint=only_endpoint)[0]


@dataclass(frozen=True)
class News:
    """One event for `publish_many`: `publish()`'s arguments."""

    organization: Organization | str
    type: str
    obj: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None
    tenant: Tenant | None = None


def publish_many(
    items: Sequence[News], *, only_endpoint: WebhookEndpoint | None = None
) -> list[WebhookEvent]:
    """Publishes events in order, as `publish()` does one: for a batch of changes made in
    one transaction (the verification engine's chunk). The endpoints are read once per
    organization and tenant, and the events and deliveries written in one statement each."""
    now = timezone.now()
    timestamp = now.isoformat().replace("+00:00", "Z")
    events = []
    for item in items:
        if item.type not in EVENT_TYPES:
            raise ValueError(
                f"unregistered event type {item.type!r}: add it to webhooks.event_types"
            )
        organization_id = getattr(item.organization, "pk", item.organization)
        event = WebhookEvent(
            organization_id=organization_id, tenant=item.tenant, type=item.type, occurred_at=now
        )
        event.payload = {
            "id": event.id,
            "type": item.type,
            "timestamp": timestamp,
            "data": {"object": item.obj, "previous_attributes": item.previous_attributes or {}},
        }
        event.body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
        if len(event.body.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(
                f"{item.type} payload over {MAX_PAYLOAD_BYTES} bytes: keep events thin"
            )
        events.append(event)
    if not events:
        return []
    endpoints_of: dict[tuple[str, str | None], list[WebhookEndpoint]] = {}
    with transaction.atomic(savepoint=False):  # the caller's transaction, as in audit.record
        WebhookEvent.objects.bulk_create(events)
        deliveries = []
        for event in events:
            key = (event.organization_id, event.tenant_id)
            if only_endpoint is not None:
                endpoints: list[WebhookEndpoint] = [only_endpoint]
            else:
                if key not in endpoints_of:
                    endpoints_of[key] = list(
                        WebhookEndpoint.objects.filter(
                            Q(tenant__isnull=True) | Q(tenant_id=key[1])
                            if key[1]
                            else Q(tenant__isnull=True),
                            organization_id=key[0],
                            enabled=True,
                        )
                    )
                endpoints = [e for e in endpoints_of[key] if e.wants(event.type)]
            deliveries += [
                WebhookDelivery(event=event, endpoint=e, next_attempt_at=now) for e in endpoints
            ]
        WebhookDelivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in deliveries]
        if ids:
            transaction.on_commit(lambda: enqueue(ids))
    return events


def enqueue(delivery_ids: Sequence[str], countdown: float = 0) -> None:
    """Asks a worker to send now (or after `countdown`). If the broker cannot take the
    task, nothing is lost: the rows stay due and the sweep sends them."""
    from webhooks.tasks import send_delivery

    for delivery_id in delivery_ids:
        try:
            send_delivery.apply_async((delivery_id,), countdown=countdown, retry=False)
        except Exception:  # any broker failure: the sweep is the safety net
            logger.warning(
                "could not enqueue webhook delivery %s; the sweep will send it",
                delivery_id,
                exc_info=True,
            )


# --- the relay --------------------------------------------------------------------------


def _claim(queryset: Any, limit: int) -> list[WebhookDelivery]:
    """Claims due rows: locked rows are skipped (another relay has them), and the claim
    moves `next_attempt_at` a lease into the future and counts the attempt, so no other
    relay takes them until this one is done. A row whose attempts were all spent without
    being settled (a relay that kept crashing on it) is closed instead of sent again."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            queryset.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", "attempts")[:limit]
        )
        spent = [pk for pk, attempts in rows if attempts >= MAX_ATTEMPTS]
        ids = [pk for pk, attempts in rows if attempts < MAX_ATTEMPTS]
        if spent:
            WebhookDelivery.objects.filter(pk__in=spent).update(
                status=WebhookDelivery.Status.FAILED,
                finished_at=now,
                next_attempt_at=None,
                last_error="out of attempts (earlier attempts could not be recorded)",
            )
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids).update(
            next_attempt_at=now + LEASE, attempts=F("attempts") + 1
        )
    return list(
        WebhookDelivery.objects.filter(pk__in=ids).select_related(
            "event", "endpoint", "endpoint__organization"
        )
    )


def delivery_send(delivery_id: str) -> WebhookDelivery | None:
    """One attempt for one delivery, if it is due and nobody else has it."""
    claimed = _claim(WebhookDelivery.objects.filter(pk=delivery_id), 1)
    if not claimed:
        return None
    _attempt_safely(claimed[0])
    return claimed[0]


def deliveries_send_due(
    *, limit: int = 200, grace: timedelta = SWEEP_GRACE, workers: int | None = None
) -> int:
    """The sweep: sends what is overdue (an enqueue that never arrived, a worker that died
    mid-attempt), `workers` at a time. Rows are claimed a round at a time, so none waits
    in a claim longer than one attempt can last. Returns how many it attempted."""
    workers = max(1, settings.WEBHOOK_RELAY_THREADS if workers is None else workers)
    threaded = workers > 1 and connection.vendor != "sqlite"
    attempted = 0
    while attempted < limit:
        overdue = WebhookDelivery.objects.filter(next_attempt_at__lte=timezone.now() - grace)
        claimed = _claim(overdue, min(workers if threaded else 1, limit - attempted))
        if not claimed:
            break
        attempted += len(claimed)
        if not threaded or len(claimed) == 1:
            for delivery in claimed:
                _attempt_safely(delivery)
            continue
        with ThreadPoolExecutor(max_workers=len(claimed)) as pool:
            list(pool.map(_attempt_in_thread, claimed))
    return attempted


def _attempt_in_thread(delivery: WebhookDelivery) -> None:
    try:
        _attempt_safely(delivery)
    finally:
        close_old_connections()
        connection.close()


def _attempt_safely(delivery: WebhookDelivery) -> None:
    """One delivery's failure (a bug, a row deleted mid-attempt) never stops the others;
    the claim's lease then brings it back, and the attempt it counted caps the retries."""
    try:
        _attempt(delivery)
    except Exception:
        logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)


def _attempt(delivery: WebhookDelivery) -> None:
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.CANCELLED,
            finished_at=timezone.now(),
            next_attempt_at=None,
        )
        return
    body = event.body.encode()
    timestamp = int(time.time())
    address = ""
    try:
        checked = check_url(
            endpoint.url,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
            resolver=dns_resolver(),
        )
    except UnsafeTarget as exc:
        result = transport.TransportResult(None, {}, "", 0, error=f"{exc.code}: {exc.message}")
    else:
        address = checked.address
        headers = {
            "webhook-id": event.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                signing_secrets(endpoint), event.id, timestamp, body
            ),
            "Content-Type": "application/json",
            "User-Agent": settings.WEBHOOK_USER_AGENT,
        }
        result = transport.send(checked, headers, body)
    _settle(delivery, result, address)


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]{1,10}", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def next_delay(attempts: int, status: int | None, headers: dict[str, str]) -> float:
    """Seconds until the next attempt after `attempts` attempts: the schedule, stretched
    by up to 10 %, and never sooner than a Retry-After on 429/502/503/504 asks."""
    delay = RETRY_DELAYS[attempts - 1] * (1 + random.uniform(0, JITTER))  # noqa: S311
    if status in RETRY_AFTER_STATUSES:
        asked = _retry_after(headers)
        if asked is not None:
            delay = max(delay, min(asked, RETRY_AFTER_CAP))
    return delay


def _settle(delivery: WebhookDelivery, result: transport.TransportResult, address: str) -> None:
    now = timezone.now()
    endpoint = delivery.endpoint
    status = result.status
    error = result.error or (
        "" if status is not None and 200 <= status < 300 else _status_error(status, result)
    )
    # Only the relay that claimed this attempt may settle it.
    mine = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    )
    if not WebhookDelivery.objects.filter(pk=delivery.pk).exists():
        return  # deleted with its endpoint while the attempt ran
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            attempted_at=now,
            duration_ms=result.duration_ms,
            status_code=status,
            response_body=result.body,
            error=error,
            target_address=address,
        )
        common = {"last_attempt_at": now, "last_status_code": status, "last_error": error}
        if status is not None and 200 <= status < 300:
            mine.update(
                status=WebhookDelivery.Status.SUCCEEDED,
                finished_at=now,
                next_attempt_at=None,
                **common,
            )
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now)
            return
        if status == 410:
            mine.update(
                status=WebhookDelivery.Status.FAILED,
                finished_at=now,
                next_attempt_at=None,
                **common,
            )
            endpoint_disable(endpoint=endpoint, reason="The endpoint answered 410 Gone.")
            return
        if delivery.attempts >= MAX_ATTEMPTS:
            settled = mine.update(
                status=WebhookDelivery.Status.FAILED,
                finished_at=now,
                next_attempt_at=None,
                **common,
            )
            if settled:
                _on_exhausted(endpoint, delivery.event_id, error, now)
            return
        delay = next_delay(delivery.attempts, status, result.headers)
        if mine.update(next_attempt_at=now + timedelta(seconds=delay), **common):
            transaction.on_commit(lambda: enqueue([delivery.pk], countdown=delay))


def _status_error(status: int | None, result: transport.TransportResult) -> str:
    if status is None:
        return "no response"
    if 300 <= status < 400:
        location = result.headers.get("location", "")
        return f"HTTP {status} redirect (not followed){': ' + location if location else ''}"
    return f"HTTP {status}"


def _on_exhausted(endpoint: WebhookEndpoint, event_id: str, error: str, now: datetime) -> None:
    endpoint.refresh_from_db()
    spell_start = max(
        filter(None, [endpoint.last_success_at, endpoint.enabled_at, endpoint.created_at])
    )
    told = (
        WebhookEndpoint.objects.filter(pk=endpoint.pk)
        .filter(Q(exhaustion_notified_at__isnull=True) | Q(exhaustion_notified_at__lt=spell_start))
        .update(exhaustion_notified_at=now)
    )
    if told:
        transaction.on_commit(lambda: notifications.notify_exhausted(endpoint, event_id, error))
    if now - spell_start < DISABLE_AFTER:
        return
    exhausted = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=WebhookDelivery.Status.FAILED, finished_at__gt=spell_start
    ).aggregate(
        count=Count("event_id", distinct=True), first=Min("finished_at"), last=Max("finished_at")
    )
    if exhausted["count"] >= 2 and exhausted["last"] - exhausted["first"] >= EXHAUSTIONS_APART:
        endpoint_disable(
            endpoint=endpoint,
            reason=f"No successful delivery for {DISABLE_AFTER.days} days and messages kept "
            f"running out of attempts. Last error: {error or 'none recorded'}",
        )


# --- replay -----------------------------------------------------------------------------


def delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends the same message again (same webhook-id, so receivers can de-duplicate)."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise EndpointDisabled()
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            event=delivery.event,
            endpoint=endpoint,
            replay_of=delivery,
            next_attempt_at=timezone.now(),
        )
        record(
            action="webhook_delivery.resent",
            organization=endpoint.organization_id,
            targets=[
                target(delivery.event, name=delivery.event.type),
                target(endpoint, name=endpoint.url),
            ],
            metadata={"delivery": delivery.pk, "resend": again.pk},
        )
        transaction.on_commit(lambda: enqueue([again.pk]))
    return again


def endpoint_recover(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Resends every message to this endpoint that failed (or was cancelled) since
    `since` and has not been delivered since. Returns how many."""
    if not endpoint.enabled:
        raise EndpointDisabled()
    delivered = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=WebhookDelivery.Status.SUCCEEDED
    ).values("event_id")
    open_again = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=WebhookDelivery.Status.PENDING
    ).values("event_id")
    failed_events = (
        WebhookDelivery.objects.filter(
            endpoint=endpoint,
            status__in=[WebhookDelivery.Status.FAILED, WebhookDelivery.Status.CANCELLED],
            created_at__gte=since,
        )
        .exclude(event_id__in=delivered)
        .exclude(event_id__in=open_again)
        .values_list("event_id", flat=True)
        .distinct()
    )
    now = timezone.now()
    with transaction.atomic():
        created = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(event_id=event_id, endpoint=endpoint, next_attempt_at=now)
            for event_id in set(failed_events)
        )
        record(
            action="webhook_endpoint.recovered",
            organization=endpoint.organization_id,
            targets=[target(endpoint, name=endpoint.url)],
            metadata={"since": since.isoformat(), "messages": len(created)},
        )
        ids = [d.pk for d in created]
        if ids:
            transaction.on_commit(lambda: enqueue(ids))
    return len(created)


def endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookEvent:
    if not endpoint.enabled:
        raise EndpointDisabled()
    with transaction.atomic():
        event = publish(
            organization=endpoint.organization_id,
            type="webhook.test",
            obj={"id": endpoint.pk, "kind": "webhook_endpoint", "url": endpoint.url},
            tenant=endpoint.tenant,
            only_endpoint=endpoint,
        )
        record(
            action="webhook_endpoint.test_sent",
            organization=endpoint.organization_id,
            targets=[target(endpoint, name=endpoint.url), target(event, name=event.type)],
        )
    return event
