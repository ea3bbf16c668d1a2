"""The answer to one DNS question, with evidence kept apart from failure.

`NOERROR` with data, `NODATA` (the name exists, nothing of that type) and `NXDOMAIN` (the
name does not exist) are evidence about what is published. `SERVFAIL`, `REFUSED`,
`TIMEOUT` and `ERROR` say only that this time no answer came: a caller must never change
state on them. Callers read `status`; no library exception reaches them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype


class View(StrEnum):
    PUBLIC = "public"  # the configured recursive resolvers
    DOH = "doh"  # Cloudflare-JSON DNS over HTTPS
    AUTHORITATIVE = "authoritative"  # the zone's own nameservers, asked directly


class Status(StrEnum):
    NOERROR = "noerror"
    NODATA = "nodata"
    NXDOMAIN = "nxdomain"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    ERROR = "error"


EVIDENCE = frozenset({Status.NOERROR, Status.NODATA, Status.NXDOMAIN})


@dataclass(frozen=True)
class Lookup:
    name: str  # lowercase ASCII, no trailing dot
    rdtype: str  # "CNAME", "TXT", ...
    view: View
    status: Status
    values: tuple[str, ...] = ()  # normalised presentation values, see `normalise_rdata`
    # TXT only: each record's character-strings as published, to spot split values
    txt_strings: tuple[tuple[str, ...], ...] = ()
    ttl: int | None = None
    detail: str = ""  # for people: which server, what went wrong
    via: str | None = None  # the name a CNAME chain led to, when the asked name is an alias
    servers: tuple[str, ...] = field(default=(), compare=False)

    @property
    def found(self) -> bool:
        return self.status == Status.NOERROR and bool(self.values)

    @property
    def is_evidence(self) -> bool:
        return self.status in EVIDENCE

    @property
    def is_transient(self) -> bool:
        return self.status not in EVIDENCE

    @property
    def absent(self) -> bool:
        """Evidence that nothing of this type is published at the name."""
        return self.status in (Status.NXDOMAIN, Status.NODATA)


def valid_query(name: str, rdtype: str) -> str | None:
    """Why dnspython could not ask this question (a label over 63 octets, an unknown
    type), or None. Checked before asking, so no path raises for it."""
    try:
        dns.name.from_text(name + ".")
        dns.rdatatype.from_text(rdtype)
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        return f"cannot ask for {rdtype} at {name!r}: {exc}"
    return None


def normalise_name(name: str) -> str:
    return name.strip().lower().rstrip(".")


def normalise_rdata(rdata: dns.rdata.Rdata) -> tuple[str, tuple[str, ...]]:
    """One record as a comparable string (and, for TXT, its character-strings).

    Names lose case and the trailing dot; TXT strings are joined with no separator
    (RFC 7208 3.3) and lose only their presentation quotes; MX reads `10 host`."""
    rdtype = rdata.rdtype
    if rdtype in (dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR, dns.rdatatype.DNAME):
        return normalise_name(rdata.target.to_text()), ()  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.MX:
        exchange = normalise_name(rdata.exchange.to_text())  # type: ignore[attr-defined]
        return f"{rdata.preference} {exchange}", ()  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
        strings = tuple(
            s.decode("utf-8", errors="replace")
            for s in rdata.strings  # type: ignore[attr-defined]
        )
        return "".join(strings), strings
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return str(ipaddress.ip_address(rdata.address)), ()  # type: ignore[attr-defined]
    return rdata.to_text(), ()
