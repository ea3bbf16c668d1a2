"""Amazon SES (SESv2) as the provider: one boto3 client per region, created lazily and
cached, standard retry mode, explicit timeouts."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.cache import cache

from dnscheck.records import ExpectedRecord, Purpose
from domains.mail import django_message
from domains.providers.base import (
    ProviderConflict,
    ProviderError,
    ProviderMissing,
    ProviderStatus,
    ProviderUnavailable,
)

if TYPE_CHECKING:
    from domains.mail import OutgoingEmail
    from domains.models import SendingDomain
    from domains.selectors import SenderDomain

_clients: dict[str, Any] = {}
_send_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=10,
)
# One attempt per region: botocore's own retries would resend a SendEmail whose answer was
# lost (a read timeout) and deliver it twice; the fallback region is the retry.
SEND_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1},
    connect_timeout=5,
    read_timeout=15,
)
TRANSIENT_CODES = {
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "LimitExceededException",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
}


def ses_rate_limit() -> None:
    """At most SES_MAX_RPS calls per second across every worker: a counter per second in
    the shared cache (Redis in production). A caller over the budget waits for the next
    second."""
    limit = max(settings.SES_MAX_RPS, 1)
    while True:
        second = int(time.time())
        key = f"ses-rps:{second}"
        cache.add(key, 0, timeout=5)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            continue
        if count <= limit:
            return
        time.sleep(max(second + 1 - time.time(), 0.01))


def _cached_client(cache_of: dict[str, Any], region: str, config: Config, paced: bool) -> Any:
    client = cache_of.get(region)
    if client is None:
        with _clients_lock:
            client = cache_of.get(region)
            if client is None:
                client = boto3.client("sesv2", region_name=region, config=config)
                if paced:
                    client.meta.events.register("before-call.sesv2", _before_call)
                cache_of[region] = client
    return client


def ses_client(region: str) -> Any:
    """The cached SESv2 client for a region. Every call through it is rate limited."""
    return _cached_client(_clients, region, CLIENT_CONFIG, paced=True)


def ses_send_client(region: str) -> Any:
    """The cached SESv2 client that sends mail in a region. Sending has its own per-second
    quota at SES, so it is not held to SES_MAX_RPS (which paces the identity calls)."""
    return _cached_client(_send_clients, region, SEND_CLIENT_CONFIG, paced=False)


def _before_call(**kwargs: Any) -> None:
    ses_rate_limit()


def reset_clients() -> None:
    """Forget cached clients (tests switch between moto and stubs)."""
    with _clients_lock:
        _clients.clear()
        _send_clients.clear()


# A send refused for one of these may go through in another region: the region is
# throttling, over its quota, paused, or failing.
RETRYABLE_SEND_CODES = TRANSIENT_CODES | {"SendingPausedException"}


def _raise(exc: Exception, transient_codes: set[str] = TRANSIENT_CODES) -> None:
    """SES's error as ours: transient ones (throttling, 5xx, no connection) apart from
    refusals, with SES's own error code."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "AlreadyExistsException":
            raise ProviderConflict(message, code) from exc
        if code == "NotFoundException":
            raise ProviderMissing(f"SES: {message}", code) from exc
        if code in transient_codes or status >= 500:
            raise ProviderUnavailable(f"SES: {code}: {message}", code) from exc
        raise ProviderError(f"SES: {code}: {message}", code) from exc
    if isinstance(exc, BotoCoreError):
        raise ProviderUnavailable(f"SES could not be reached: {exc}", "ConnectionError") from exc
    raise exc


def mail_from_host(domain: SendingDomain) -> str:
    return f"{domain.mail_from_label}.{domain.name}" if domain.mail_from_label else ""


class SesProvider:
    name = "ses"

    def create(self, domain: SendingDomain) -> None:
        client = ses_client(domain.region)
        try:
            response = client.create_email_identity(EmailIdentity=domain.name)
        except (ClientError, BotoCoreError) as exc:
            _raise(exc)
        domain.ses_dkim_tokens = list(response.get("DkimAttributes", {}).get("Tokens", []))
        try:
            self._set_mail_from(domain)
        except ProviderError:
            self.delete(domain)  # no half-made identity left behind for a later add to reuse
            raise

    def _set_mail_from(self, domain: SendingDomain) -> None:
        if not domain.mail_from_label:
            return
        try:
            ses_client(domain.region).put_email_identity_mail_from_attributes(
                EmailIdentity=domain.name,
                MailFromDomain=mail_from_host(domain),
                BehaviorOnMxFailure="USE_DEFAULT_VALUE",
            )
        except (ClientError, BotoCoreError) as exc:
            _raise(exc)

    def recreate(self, domain: SendingDomain) -> None:
        """Deletes the identity and creates it again: fresh DKIM tokens, so nothing an
        earlier claimant published can verify the new one, and a failed verification
        starts over."""
        self.delete(domain)
        self.create(domain)

    def status(self, domain: SendingDomain) -> ProviderStatus:
        try:
            response = ses_client(domain.region).get_email_identity(EmailIdentity=domain.name)
        except (ClientError, BotoCoreError) as exc:
            _raise(exc)
        dkim = response.get("DkimAttributes", {})
        tokens = list(dkim.get("Tokens", []))
        if tokens and tokens != domain.ses_dkim_tokens:
            domain.ses_dkim_tokens = tokens
        dkim_status = dkim.get("Status", "")
        return ProviderStatus(
            verified=bool(response.get("VerifiedForSendingStatus")),
            dkim_status=dkim_status,
            error_type=response.get("VerificationInfo", {}).get("ErrorType", ""),
            failed=dkim_status == "FAILED",
            details={
                "verification_status": response.get("VerificationStatus", ""),
                "mail_from_status": response.get("MailFromAttributes", {}).get(
                    "MailFromDomainStatus", ""
                ),
            },
        )

    def send(
        self, sender: SenderDomain, email: OutgoingEmail, *, region: str, message_id: str
    ) -> str:
        """SESv2 SendEmail with the raw MIME message (so every header is ours); SES signs
        it with the identity's Easy DKIM key in that region."""
        raw = django_message(
            email, message_id=f"<{message_id}@{sender.name}>", envelope_from=email.from_address
        ).message()
        destination = {"ToAddresses": email.to}
        if email.cc:
            destination["CcAddresses"] = email.cc
        if email.bcc:
            destination["BccAddresses"] = email.bcc
        try:
            response = ses_send_client(region).send_email(
                FromEmailAddress=email.from_header,
                Destination=destination,
                Content={"Raw": {"Data": raw.as_bytes(linesep="\r\n")}},
            )
        except (ClientError, BotoCoreError) as exc:
            _raise(exc, RETRYABLE_SEND_CODES)
        return response["MessageId"]

    def delete(self, domain: SendingDomain) -> None:
        try:
            ses_client(domain.region).delete_email_identity(EmailIdentity=domain.name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NotFoundException":
                return  # already gone: nothing to reconcile
            _raise(exc)
        except BotoCoreError as exc:
            _raise(exc)

    def records(self, domain: SendingDomain) -> list[ExpectedRecord]:
        records = [
            ExpectedRecord(
                "CNAME",
                f"{token}._domainkey.{domain.name}",
                f"{token}.dkim.amazonses.com",
                Purpose.DKIM,
            )
            for token in domain.ses_dkim_tokens
        ]
        host = mail_from_host(domain)
        if host:
            records += [
                ExpectedRecord(
                    "MX",
                    host,
                    f"10 feedback-smtp.{domain.region}.amazonses.com",
                    Purpose.MAIL_FROM_MX,
                ),
                ExpectedRecord(
                    "TXT", host, "v=spf1 include:amazonses.com ~all", Purpose.MAIL_FROM_SPF
                ),
            ]
        return records


def allowed_regions() -> list[str]:
    return list(settings.SES_ALLOWED_REGIONS)
