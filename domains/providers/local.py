"""Our own provider: a 2048-bit DKIM key pair per domain (the private key encrypted at
rest), and verification by our own DNS checks. No AWS account needed."""

from __future__ import annotations

import base64
import smtplib
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.mail import get_connection

from config.crypto import decrypt, encrypt
from dnscheck.records import ExpectedRecord, Purpose
from domains.mail import DkimSignedEmail, django_message
from domains.providers.base import ProviderError, ProviderStatus, ProviderUnavailable

if TYPE_CHECKING:
    from domains.mail import OutgoingEmail
    from domains.models import SendingDomain
    from domains.selectors import SenderDomain

KEY_BITS = 2048


def new_dkim_key() -> tuple[str, str]:
    """(private key PEM, public key as the base64 DER for the DKIM `p=` tag)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, base64.b64encode(public_der).decode()


def dmarc_value() -> str:
    rua = settings.LOCAL_DMARC_RUA
    return "v=DMARC1; p=none" + (f"; rua=mailto:{rua.removeprefix('mailto:')}" if rua else "")


class LocalProvider:
    name = "local"

    def create(self, domain: SendingDomain) -> None:
        private_pem, public_b64 = new_dkim_key()
        domain.dkim_selector = settings.LOCAL_DKIM_SELECTOR
        domain.dkim_private_key_encrypted = encrypt(private_pem)
        domain.dkim_public_key = public_b64

    def status(self, domain: SendingDomain) -> ProviderStatus:
        return ProviderStatus(verified=None)  # our DNS checks decide

    def delete(self, domain: SendingDomain) -> None:
        """Nothing lives outside our database."""

    def records(self, domain: SendingDomain) -> list[ExpectedRecord]:
        return [
            ExpectedRecord(
                "TXT",
                f"{domain.dkim_selector}._domainkey.{domain.name}",
                f"v=DKIM1; k=rsa; p={domain.dkim_public_key}",
                Purpose.DKIM,
            ),
            ExpectedRecord(
                "TXT", domain.name, f"v=spf1 include:{settings.LOCAL_SPF_INCLUDE} ~all", Purpose.SPF
            ),
            ExpectedRecord(
                "CNAME",
                f"{settings.LOCAL_RETURN_PATH_HOST}.{domain.name}",
                settings.LOCAL_RETURN_PATH_TARGET,
                Purpose.RETURN_PATH,
            ),
            ExpectedRecord("TXT", f"_dmarc.{domain.name}", dmarc_value(), Purpose.DMARC),
        ]

    def send(
        self, sender: SenderDomain, email: OutgoingEmail, *, region: str, message_id: str
    ) -> str:
        """Through Django's email backend (SMTP in production), DKIM-signed with the
        domain's key, with the return path on the domain's return-path host so bounces
        come back to us and SPF aligns."""
        header_id = f"<{message_id}@{sender.name}>"
        message = django_message(
            email,
            message_id=header_id,
            envelope_from=f"{message_id}@{settings.LOCAL_RETURN_PATH_HOST}.{sender.name}",
            cls=DkimSignedEmail,
            dkim_key=decrypt(sender.dkim_private_key_encrypted).encode(),
            dkim_domain=sender.name,
            dkim_selector=sender.dkim_selector,
            connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        )
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise ProviderError(f"The mail server refused every recipient: {exc}", "550") from exc
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            if 400 <= exc.smtp_code < 500:
                raise ProviderUnavailable(
                    f"SMTP {exc.smtp_code}: {text}", str(exc.smtp_code)
                ) from exc
            raise ProviderError(f"SMTP {exc.smtp_code}: {text}", str(exc.smtp_code)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ProviderUnavailable(f"The mail server could not be reached: {exc}") from exc
        return header_id
