"""Sending mail from a verified domain: resolve the from-address to its domain, take the
day's warmup slots atomically, record the message, send through the domain's provider in
its region (and once in the fallback region when the first region failed in a way another
region may not), and give the slots back when the provider refused.

An Idempotency-Key makes a retried request answer with its first result instead of sending
twice; the key is the message row's own (one per organization), kept for
IDEMPOTENCY_KEY_HOURS."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email

from accounts.models import Organization, Tenant
from audit.services import record, target
from config.errors import ConflictError, InvalidInputError, NotFoundError, ServiceError
from domains.counters import send_counter
from domains.mail import OutgoingEmail, format_address
from domains.models import Message, SendingDomain
from domains.providers import ProviderError, ProviderUnavailable, get_provider
from domains.selectors import SenderDomain, WarmupLimit, domain_for_sender, warmup_cap
from domains.services import ProviderUnavailableError

logger = logging.getLogger(__name__)

# Headers the message's own fields set, or that only the provider may write.
RESERVED_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "reply-to",
    "sender",
    "return-path",
    "message-id",
    "date",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "dkim-signature",
    "received",
}
# Python's email package starts a new line at VT, FF, FS, GS and RS as well as CR and LF:
# any of these in a header could add a header of the caller's choosing. Tab is fine.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # printable ASCII without the colon (RFC 5322)
# SES acts on these inside a raw message (configuration set, tags, sending authorization):
# a customer must not pick another's.
RESERVED_HEADER_PREFIXES = ("x-ses-",)
MAX_DISPLAY_NAME = 200
MAX_HEADERS = 50
MAX_HEADER_VALUE = 998
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")


class SendingDomainNotFound(NotFoundError):
    code = "DOMAIN_NOT_FOUND"
    message = "None of your sending domains matches the from-address. Add the domain first."


class DomainNotVerified(ServiceError):
    code = "DOMAIN_NOT_VERIFIED"
    status = 403
    message = "The from-address's domain is not verified yet: publish its DNS records first."


class DomainTenantMismatch(ServiceError):
    code = "DOMAIN_TENANT_MISMATCH"
    status = 403
    message = "The from-address's domain is bound to another tenant."


class WarmupLimitExceeded(ServiceError):
    code = "WARMUP_LIMIT_EXCEEDED"
    status = 429
    message = "Today's warmup cap for this domain is used up."


class MessageRejected(ServiceError):
    code = "MESSAGE_REJECTED"
    status = 422
    message = "The email provider refused the message."


class IdempotencyKeyReused(ServiceError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    message = "This Idempotency-Key was already used for a different request."


class IdempotencyKeyInProgress(ConflictError):
    code = "IDEMPOTENCY_KEY_IN_PROGRESS"
    message = "A request with this Idempotency-Key is still being sent; retry in a moment."


# --- input --------------------------------------------------------------------------------


def parse_address(text: str) -> tuple[str, str]:
    """`"Name <local@domain>"` or a bare address -> (name, ASCII address). Unicode domains
    come back in punycode; a local part must be ASCII (SES and most relays need it)."""
    if CONTROL.search(text):
        raise ValueError("An address cannot contain line breaks or control characters.")
    parsed = getaddresses([text])
    if len(parsed) != 1 or not parsed[0][1]:
        raise ValueError("Give one address, as local@domain or Name <local@domain>.")
    name, address = parsed[0]
    if len(name) > MAX_DISPLAY_NAME:
        raise ValueError(f"A display name has at most {MAX_DISPLAY_NAME} characters.")
    try:
        checked = validate_email(
            address,
            check_deliverability=False,
            allow_smtputf8=False,
            test_environment=settings.EMAIL_ALLOW_TEST_DOMAINS,
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return name.strip(), checked.ascii_email or checked.normalized


def check_headers(headers: dict[str, Any]) -> dict[str, str]:
    """Extra headers (List-Unsubscribe, X-Entity-Ref-ID, ...): names and values that could
    not inject another header, and none the message's own fields or the provider write."""
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"At most {MAX_HEADERS} headers.")
    checked = {}
    for name, value in headers.items():
        if not HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name.")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name} is set from the message's own fields, not as a header.")
        if name.lower().startswith(RESERVED_HEADER_PREFIXES):
            raise ValueError(f"{name}: X-SES-* headers are the provider's, not the sender's.")
        if not isinstance(value, str):
            raise ValueError(f"{name}: the value must be a string.")
        if CONTROL.search(value):
            raise ValueError(
                f"{name}: a header value cannot contain line breaks or control characters."
            )
        if len(value) > MAX_HEADER_VALUE:
            raise ValueError(f"{name}: at most {MAX_HEADER_VALUE} characters.")
        checked[name] = value
    return checked


def check_idempotency_key(key: str | None) -> str:
    if key is None:
        return ""
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInputError(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


def request_fingerprint(email: OutgoingEmail, tenant_id: str | None) -> str:
    """What makes two requests the same request, for the Idempotency-Key check."""
    data = {**asdict(email), "tenant_id": tenant_id}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --- the send path ------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    message: Message
    replayed: bool = False


def next_utc_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def sender_domain(
    *, organization: Organization, from_address: str, tenant: Tenant | None
) -> SenderDomain:
    """The domain the from-address sends through, refused unless it can send now for this
    tenant. A domain bound to a tenant sends only for that tenant; an unbound domain is
    the organization's and sends for any."""
    sender = _known_sender(organization.pk, from_address)
    if sender.tenant_id and sender.tenant_id != (tenant.pk if tenant else None):
        raise DomainTenantMismatch(
            f"{sender.name} is bound to tenant {sender.tenant_id}: send with that tenant_id.",
            extra={"domain_id": sender.id, "tenant_id": sender.tenant_id},
        )
    _refuse_unverified(sender)
    return sender


def _known_sender(organization_id: str, from_address: str) -> SenderDomain:
    sender = domain_for_sender(organization_id=organization_id, from_address=from_address)
    if sender is None:
        raise SendingDomainNotFound()
    return sender


def _refuse_unverified(sender: SenderDomain) -> None:
    if not sender.verified:
        raise DomainNotVerified(
            f"{sender.name} is {sender.status}, not verified: it cannot send yet.",
            extra={"domain_id": sender.id, "domain_status": sender.status},
        )


def check_warmup_limit(*, organization_id: str, from_address: str) -> WarmupLimit:
    """Today's cap for sending from this address's domain (None: no cap), refused as a
    send would be when the domain is unknown or not verified."""
    sender = _known_sender(organization_id, from_address)
    _refuse_unverified(sender)
    return warmup_cap(sender)


def _replay(
    organization: Organization, key: str, fingerprint: str, now: datetime
) -> Message | None:
    """The first result for this key, or None when the key is new (or has expired)."""
    first = Message.objects.filter(organization=organization, idempotency_key=key).first()
    if first is None:
        return None
    if first.created_at < now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS):
        Message.objects.filter(pk=first.pk, idempotency_key=key).update(idempotency_key="")
        return None
    if first.request_hash != fingerprint:
        raise IdempotencyKeyReused(extra={"message_id": first.pk})
    if first.status == Message.Status.SENDING:
        raise IdempotencyKeyInProgress(extra={"message_id": first.pk})
    return first


def raise_for_failure(message: Message) -> None:
    """A message the provider refused answers as an error, now and on every replay."""
    if message.status == Message.Status.FAILED:
        raise MessageRejected(
            f"The email provider refused the message: {message.error_message}",
            extra={"message_id": message.pk, "provider_code": message.error_code},
        )


def email_send(
    *,
    organization: Organization,
    email: OutgoingEmail,
    tenant: Tenant | None = None,
    idempotency_key: str = "",
    kind: str = Message.Kind.API,
) -> SendOutcome:
    """Sends one email. Raises the refusals above; a provider outage after every region
    was tried is a 503 with nothing counted against the cap."""
    now = timezone.now()
    recipients = len(email.recipients)
    if recipients > settings.EMAIL_MAX_RECIPIENTS:
        raise InvalidInputError(
            f"At most {settings.EMAIL_MAX_RECIPIENTS} recipients (to, cc and bcc together).",
            errors={"to": [f"At most {settings.EMAIL_MAX_RECIPIENTS} recipients in all."]},
        )
    fingerprint = ""
    if idempotency_key:
        # A retry answers with the first result even if the domain has changed since.
        fingerprint = request_fingerprint(email, tenant.pk if tenant else None)
        first = _replay(organization, idempotency_key, fingerprint, now)
        if first is not None:
            raise_for_failure(first)
            return SendOutcome(first, replayed=True)
    sender = sender_domain(
        organization=organization, from_address=email.from_address, tenant=tenant
    )

    day = now.date()
    limit = warmup_cap(sender, now)
    counted = limit.cap is not None
    if counted:
        taken = send_counter().take(sender.id, day, recipients, limit.cap)
        if not taken.allowed:
            resets_at = next_utc_midnight(now)
            raise WarmupLimitExceeded(
                f"{sender.name} is on day {limit.days_in + 1} of its warmup: at most "
                f"{limit.cap} recipients today, {taken.count} used. The cap resets at "
                f"{resets_at.isoformat()}.",
                extra={
                    "cap": limit.cap,
                    "count": taken.count,
                    "requested": recipients,
                    "resets_at": resets_at.isoformat(),
                },
                headers={"Retry-After": str(int((resets_at - now).total_seconds()) + 1)},
            )

    def give_back() -> None:
        if counted:
            send_counter().give_back(sender.id, day, recipients)

    try:
        with transaction.atomic():
            message = Message.objects.create(
                organization=organization,
                domain_id=sender.id,
                domain_name=sender.name,
                tenant=tenant,
                kind=kind,
                from_address=email.from_header,
                to=email.to,
                cc=email.cc,
                bcc=email.bcc,
                reply_to=email.reply_to,
                subject=email.subject,
                recipient_count=recipients,
                provider=sender.provider,
                idempotency_key=idempotency_key,
                request_hash=fingerprint,
            )
    except IntegrityError:
        give_back()
        first = (
            _replay(organization, idempotency_key, fingerprint, now) if idempotency_key else None
        )
        if first is None:
            # Not a key collision: the domain (or tenant) was deleted a moment ago.
            raise SendingDomainNotFound() from None
        raise_for_failure(first)  # the same key arrived twice at once, and the other won
        return SendOutcome(first, replayed=True)

    try:
        return SendOutcome(_deliver(message, sender, email))
    except ServiceError:  # refused or unavailable: nothing went out
        give_back()
        raise
    except BaseException as exc:
        # A bug, not the provider: nothing was sent as far as we know. The slots come back,
        # the row says so, and the key is free for the retry.
        give_back()
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED,
            error_code="INTERNAL_ERROR",
            error_message=f"{type(exc).__name__}: {exc}"[:2000],
            idempotency_key="",
        )
        raise


# A permanent refusal in the fallback region means the identity is not there (or not
# verified there): the message itself was not judged, so the first region's outage stands.
def _deliver(message: Message, sender: SenderDomain, email: OutgoingEmail) -> Message:
    backend = get_provider(sender.provider)
    ses = sender.provider == SendingDomain.Provider.SES
    regions = [sender.region] + ([sender.fallback_region] if ses and sender.fallback_region else [])
    errors: list[tuple[str, ProviderError]] = []
    for region in regions:
        try:
            provider_id = backend.send(sender, email, region=region, message_id=message.pk)
        except ProviderUnavailable as exc:
            logger.warning("send %s in %s failed, may retry elsewhere: %s", message.pk, region, exc)
            errors.append((region, exc))
            continue
        except ProviderError as exc:
            errors.append((region, exc))
            break
        message.status = Message.Status.SENT
        message.provider_message_id = provider_id
        message.region = region if ses else ""
        message.fallback_used = region != regions[0]
        message.sent_at = timezone.now()
        message.save(
            update_fields=["status", "provider_message_id", "region", "fallback_used", "sent_at"]
        )
        return message

    region, error = errors[-1]
    retryable = isinstance(errors[0][1], ProviderUnavailable)
    message.status = Message.Status.FAILED
    message.error_code = error.code or ("UNAVAILABLE" if retryable else "REJECTED")
    message.error_message = "; ".join(f"{r}: {e}" for r, e in errors)[:2000]
    message.region = region if ses else ""
    message.fallback_used = region != regions[0]
    if retryable:
        message.idempotency_key = ""  # a retry with the same key may send it again
    message.save(
        update_fields=[
            "status",
            "error_code",
            "error_message",
            "region",
            "fallback_used",
            "idempotency_key",
        ]
    )
    if retryable:
        raise ProviderUnavailableError(
            f"The email provider could not take the message ({message.error_message}). "
            "Nothing was sent and nothing counted against the cap; try again shortly.",
            extra={"message_id": message.pk},
        )
    raise_for_failure(message)
    return message  # pragma: no cover - raise_for_failure raised


# --- test email ---------------------------------------------------------------------------

TEST_SUBJECT = "Test email from {name}"
TEST_TEXT = (
    "This is a test email sent from {name} through Domainkeeper.\n\n"
    "If it arrived, the domain can send: check the message's headers for "
    "dkim=pass and spf=pass.\n"
)


def sending_domain_send_test_email(*, domain: SendingDomain, to: str) -> Message:
    """A fixed test message from `test@<domain>`, counted like any other send, and
    recorded in the audit log (it is an owner's action on the domain)."""
    try:
        name, address = parse_address(to)
    except ValueError as exc:
        raise InvalidInputError(str(exc), errors={"to": [str(exc)]}) from exc
    email = OutgoingEmail(
        from_address=f"test@{domain.name}",
        from_name="Domainkeeper test",
        to=[format_address(name, address)],
        subject=TEST_SUBJECT.format(name=domain.display_name),
        text=TEST_TEXT.format(name=domain.display_name),
    )
    outcome = email_send(
        organization=domain.organization,
        email=email,
        tenant=domain.tenant,
        kind=Message.Kind.TEST,
    )
    with transaction.atomic():
        record(
            action="domain.test_email_sent",
            organization=domain.organization_id,
            targets=[
                target(domain, type="sending_domain", name=domain.name),
                target(outcome.message, type="message", name=outcome.message.subject),
            ],
            metadata={"to": address, "status": outcome.message.status},
        )
    return outcome.message
