"""Domain names as users type them, made comparable: trim, lowercase, one trailing dot
dropped, Unicode to IDNA (UTS 46, non-transitional) so `mystöre.com` and its punycode are
the same domain, and refusals with a code for what cannot be a customer's domain."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
# RFC 6761 / 6762 / 7686 names that never belong to a customer. `.test` and `.example` stay
# usable: they are what tests and documentation use.
SPECIAL_USE_SUFFIXES = ("localhost", "local", "invalid", "onion", "arpa", "internal", "home.arpa")


class DomainNameError(ValueError):
    """A refusal: `code` is stable (INVALID_DOMAIN, IP_LITERAL, WILDCARD, TOO_LONG,
    PUBLIC_SUFFIX, SPECIAL_USE, RESERVED_TARGET), `message` is for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DomainName:
    ascii: str  # the form DNS and the database use: lowercase punycode, no trailing dot
    display: str  # the form people read: Unicode where the name has it
    registrable: str  # the registrable domain (eTLD+1) in ASCII, from the Public Suffix List
    public_suffix: str

    @property
    def is_apex(self) -> bool:
        return self.ascii == self.registrable

    @property
    def www_pair(self) -> str | None:
        """The other name of a site people reach both ways: `www.<apex>` for an apex, the
        apex for `www.<apex>`; None for any other name."""
        if self.is_apex:
            return f"www.{self.ascii}"
        if self.ascii == f"www.{self.registrable}":
            return self.registrable
        return None

    def __str__(self) -> str:
        return self.ascii


@lru_cache(maxsize=1)
def public_suffix_list() -> PublicSuffixList:
    """The snapshot that ships with the `publicsuffixlist` package; nothing is fetched.
    Refresh it by upgrading the pinned package."""
    return PublicSuffixList()


def _strip_url(text: str) -> str:
    """People paste URLs: `https://Shop.Example.com/path` means `shop.example.com`."""
    if "://" in text:
        try:
            host = urlsplit(text).hostname
        except ValueError:
            host = None
        if not host:
            raise DomainNameError("INVALID_DOMAIN", "Enter a domain name, not a URL.")
        return host
    if "/" in text:
        return text.split("/", 1)[0]
    return text


def _ip_literal(text: str) -> bool:
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def normalize_domain(raw: object, *, reserved: Iterable[str] = ()) -> DomainName:
    """Returns the normalised domain or raises DomainNameError, never anything else.

    `reserved` lists our own host names (routing targets, return-path hosts): a customer
    may not claim one of them or a name under one."""
    if not isinstance(raw, str):
        raise DomainNameError("INVALID_DOMAIN", "Enter a domain name as text.")
    text = raw.strip()
    if not text:
        raise DomainNameError("INVALID_DOMAIN", "Enter a domain name.")
    if _ip_literal(text):
        raise DomainNameError("IP_LITERAL", "Enter a domain name, not an IP address.")
    text = _strip_url(text).strip()
    if _ip_literal(text):
        raise DomainNameError("IP_LITERAL", "Enter a domain name, not an IP address.")
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise DomainNameError("INVALID_DOMAIN", "Enter a domain name.")
    if "*" in text:
        raise DomainNameError(
            "WILDCARD", "Wildcards cannot be verified: enter one exact domain name."
        )
    if len(text) > MAX_NAME_LENGTH * 4:  # far past any valid name, even before encoding
        raise DomainNameError("TOO_LONG", "A domain name has at most 253 characters.")
    if any(len(label) > MAX_LABEL_LENGTH for label in text.split(".")) and text.isascii():
        raise DomainNameError("TOO_LONG", "Each part of a domain name has at most 63 characters.")
    try:
        ascii_name = idna.encode(text, uts46=True, std3_rules=True, transitional=False).decode()
    except idna.IDNAError as exc:
        if "too long" in str(exc).lower():
            raise DomainNameError(
                "TOO_LONG", "Each part of a domain name has at most 63 characters."
            ) from exc
        raise DomainNameError("INVALID_DOMAIN", f"This is not a valid domain name: {exc}.") from exc
    except (UnicodeError, ValueError) as exc:
        raise DomainNameError("INVALID_DOMAIN", "This is not a valid domain name.") from exc
    ascii_name = ascii_name.lower()
    # UTS 46 maps the fullwidth and ideographic full stops to "." only now, so a final
    # one only shows up after encoding.
    if ascii_name.endswith("."):
        ascii_name = ascii_name[:-1]
    if not ascii_name or "" in ascii_name.split("."):
        raise DomainNameError("INVALID_DOMAIN", "A domain name has no empty parts (`..`).")
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise DomainNameError("TOO_LONG", "A domain name has at most 253 characters.")
    labels = ascii_name.split(".")
    if any(len(label) > MAX_LABEL_LENGTH for label in labels):
        raise DomainNameError("TOO_LONG", "Each part of a domain name has at most 63 characters.")
    if labels[-1].isdigit():
        raise DomainNameError("INVALID_DOMAIN", "The last part of a domain name is never a number.")
    if any(ascii_name == s or ascii_name.endswith("." + s) for s in SPECIAL_USE_SUFFIXES):
        raise DomainNameError(
            "SPECIAL_USE", "This name is reserved for local or special use and has no public DNS."
        )
    psl = public_suffix_list()
    if len(labels) < 2 and psl.publicsuffix(ascii_name, accept_unknown=False) is None:
        raise DomainNameError("INVALID_DOMAIN", "Enter a full domain name, such as example.com.")
    public_suffix = psl.publicsuffix(ascii_name) or labels[-1]
    registrable = psl.privatesuffix(ascii_name)
    if registrable is None or psl.is_public(ascii_name):
        raise DomainNameError(
            "PUBLIC_SUFFIX",
            f"{ascii_name} is a public suffix that many owners share; enter your own domain "
            f"under it (such as yourname.{ascii_name}).",
        )
    for target in reserved:
        target = target.lower().rstrip(".")
        if target and (ascii_name == target or ascii_name.endswith("." + target)):
            raise DomainNameError(
                "RESERVED_TARGET", "This name belongs to our own service and cannot be added."
            )
    return DomainName(
        ascii=ascii_name,
        display=to_display(ascii_name),
        registrable=registrable,
        public_suffix=public_suffix,
    )


def to_display(ascii_name: str) -> str:
    """Punycode back to Unicode for people; a name that does not decode is shown as is."""
    try:
        return idna.decode(ascii_name)
    except (idna.IDNAError, UnicodeError, ValueError):
        return ascii_name


def relative_host(name: str, zone: str) -> str:
    """The host as most DNS panels want it typed: relative to the zone, `@` for the apex.
    `<t>._domainkey.mail.acme.com` in zone `acme.com` is `<t>._domainkey.mail`."""
    name = name.lower().rstrip(".")
    zone = zone.lower().rstrip(".")
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    return name + "."
