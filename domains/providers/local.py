"""Our own provider: a 2048-bit DKIM key pair per domain (the private key encrypted at
rest), and verification by our own DNS checks. No AWS account needed."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from config.crypto import encrypt
from dnscheck.records import ExpectedRecord, Purpose
from domains.providers.base import ProviderStatus

if TYPE_CHECKING:
    from domains.models import SendingDomain

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
