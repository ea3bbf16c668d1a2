"""An outgoing email as both providers send it: one MIME message built by Django's email
classes, DKIM-signed here for the `local` provider (SES signs with its own Easy DKIM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.charset import QP, Charset
from email.utils import formataddr
from typing import Any

import dkim
from django.core.mail import EmailMultiAlternatives

# Signed when present; `From` must be (RFC 6376). Listing a header twice in `h=` also
# signs its absence, so nobody can add a second Subject or From on the way.
SIGNED_HEADERS = [
    b"From",
    b"From",
    b"To",
    b"Cc",
    b"Reply-To",
    b"Subject",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"Content-Transfer-Encoding",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
]


# Bodies as quoted-printable, never raw 8-bit: a relay that must downgrade 8-bit for a next
# hop would re-encode the body and break the DKIM signature.
QP_UTF8 = Charset("utf-8")
QP_UTF8.body_encoding = QP


def format_address(name: str, address: str) -> str:
    return formataddr((name, address)) if name else address


@dataclass(frozen=True)
class OutgoingEmail:
    from_address: str  # the bare address
    from_name: str
    to: list[str]
    subject: str
    text: str = ""
    html: str = ""
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]

    @property
    def from_header(self) -> str:
        return format_address(self.from_name, self.from_address)


class SignedMIME:
    """The exact bytes that were signed, handed to an email backend as they are: any
    re-serialisation could refold a header and break the signature."""

    def __init__(self, data: bytes) -> None:
        self.data = data  # CRLF line endings

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self.data if linesep == "\r\n" else self.data.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", "replace")

    def get_charset(self) -> None:
        return None

    def __str__(self) -> str:
        return self.as_string()


class DkimSignedEmail(EmailMultiAlternatives):
    """A message signed with the sending domain's key when it is serialised for sending."""

    def __init__(
        self, *args: Any, dkim_key: bytes, dkim_domain: str, dkim_selector: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.dkim_key = dkim_key
        self.dkim_domain = dkim_domain
        self.dkim_selector = dkim_selector

    def message(self, *args: Any, **kwargs: Any) -> Any:
        raw = super().message(*args, **kwargs).as_bytes(linesep="\r\n")
        signature = dkim.sign(
            raw,
            self.dkim_selector.encode(),
            self.dkim_domain.encode(),
            self.dkim_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=SIGNED_HEADERS,
            linesep=b"\r\n",
        )
        return SignedMIME(signature + raw)


def django_message(
    email: OutgoingEmail,
    *,
    message_id: str,
    envelope_from: str,
    cls: type[EmailMultiAlternatives] = EmailMultiAlternatives,
    **extra: Any,
) -> EmailMultiAlternatives:
    """The email as Django's classes build it. `envelope_from` is the SMTP MAIL FROM (the
    return path); the `From` header is the sender's own address."""
    headers = {**email.headers, "From": email.from_header, "Message-ID": message_id}
    body, alternatives = (email.text, [(email.html, "text/html")] if email.html else [])
    if not email.text:
        body, alternatives = email.html, []
    message = cls(
        subject=email.subject,
        body=body,
        from_email=envelope_from,
        to=email.to,
        cc=email.cc,
        bcc=email.bcc,
        reply_to=email.reply_to,
        headers=headers,
        alternatives=alternatives,
        **extra,
    )
    if not email.text:
        message.content_subtype = "html"
    message.encoding = QP_UTF8
    return message
