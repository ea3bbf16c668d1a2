from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from dnscheck.records import ExpectedRecord

if TYPE_CHECKING:
    from domains.mail import OutgoingEmail
    from domains.models import SendingDomain
    from domains.selectors import SenderDomain


class ProviderError(Exception):
    """The provider refused for good (bad request, not found where it must exist). `code`
    is the provider's own error name when it gave one (SES `MessageRejected`, an SMTP
    reply code)."""

    def __init__(self, message: str = "", code: str = "") -> None:
        super().__init__(message)
        self.code = code


class ProviderUnavailable(ProviderError):
    """Throttled, timed out, or the service failed: try again later; change nothing."""


class ProviderConflict(ProviderError):
    """The identity already exists at the provider."""


class ProviderMissing(ProviderError):
    """The identity is gone at the provider (deleted outside this product)."""


@dataclass(frozen=True)
class ProviderStatus:
    """What the provider says about an identity. `verified` is None when the provider
    leaves that to our DNS checks (the local provider)."""

    verified: bool | None
    dkim_status: str = ""  # SES: NOT_STARTED, PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE
    error_type: str = ""  # SES VerificationInfo.ErrorType
    failed: bool = False  # the provider gave up (SES after 72 h)
    details: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    name: str

    def create(self, domain: SendingDomain) -> None:
        """Creates the identity and fills the domain's provider fields (tokens, keys)."""

    def status(self, domain: SendingDomain) -> ProviderStatus: ...

    def delete(self, domain: SendingDomain) -> None: ...

    def records(self, domain: SendingDomain) -> list[ExpectedRecord]:
        """The records the customer must publish, and the optional ones we recommend."""

    def send(
        self, sender: SenderDomain, email: OutgoingEmail, *, region: str, message_id: str
    ) -> str:
        """Sends in one region and returns the provider's message id. Raises
        ProviderUnavailable when another attempt (or region) may succeed, ProviderError
        when the message itself was refused."""
