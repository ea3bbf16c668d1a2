"""What we expect to find in DNS, and what we concluded about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dnscheck.names import relative_host


class Outcome(StrEnum):
    OK = "ok"
    MISSING = "missing"
    MISMATCH = "mismatch"
    ERROR = "error"  # no evidence this time (SERVFAIL, REFUSED, timeout): retried, not judged


class Purpose(StrEnum):
    DKIM = "dkim"
    SPF = "spf"
    RETURN_PATH = "return_path"
    DMARC = "dmarc"
    MAIL_FROM_MX = "mail_from_mx"
    MAIL_FROM_SPF = "mail_from_spf"
    VERIFICATION = "verification"
    ROUTING = "routing"


@dataclass(frozen=True)
class ExpectedRecord:
    """One record a customer must publish. `name` is absolute ASCII without the trailing
    dot; `zone` is the zone it goes in (for the host to type); `value` is what to paste."""

    type: str  # CNAME, TXT, MX, A
    name: str
    value: str
    purpose: str
    zone: str = ""

    @property
    def host(self) -> str:
        """The host as a DNS panel wants it: relative to the zone, `@` for the apex."""
        return relative_host(self.name, self.zone) if self.zone else self.name + "."

    def in_zone(self, zone: str) -> ExpectedRecord:
        return ExpectedRecord(self.type, self.name, self.value, self.purpose, zone)


@dataclass(frozen=True)
class RecordResult:
    record: ExpectedRecord
    outcome: Outcome
    hint: str | None  # a code from shared/DNS.md; None when all is well
    fix: str  # what the user should do, with the host and the exact value
    seen_value: str | None = None  # what DNS holds there now, if anything
    suggested_value: str | None = None  # a whole value to paste (merged SPF, ...)
    detail: str = field(default="", compare=False)  # technical evidence for support
    # The zone's own nameservers were asked and have nothing there either: the record is
    # not published at the DNS host that answers for the domain.
    absent_at_source: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK


@dataclass(frozen=True)
class Summary:
    """The verdict over a set of records (a domain's DKIM trio, a storefront's TXT, ...)."""

    outcome: Outcome
    hint: str | None
    fix: str
    ok_count: int
    total: int
    results: tuple[RecordResult, ...] = ()
