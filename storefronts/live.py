"""The live status of a verified store domain: does the routing record point at us, and
does HTTPS work through the public name (a valid certificate for it, an HTTP answer)?

Beat and cron (`storefronts_live_probe_sweep`) and the "check now" button
(`storefront_live_probe`) run the same probe. The DNS part goes through the product's
resolver and `check_records` (the routing record is the one `routing_record` defines); the
HTTPS part connects to the name's addresses on LIVE_PROBE_HTTPS_PORT with SNI and `Host` set
to the name, and never follows a redirect. Every step has a short timeout
(LIVE_PROBE_TIMEOUT), and many domains are probed at once, so a customer's slow host costs
its own slot, not the worker.

Statuses change only on evidence: when DNS gives none (timeout, SERVFAIL), the previous
statuses stand, the attempt is noted in `live_observed`, and the probe comes back sooner."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography import x509
from django.conf import settings
from django.utils import timezone

from config.dns import dns_resolver
from config.errors import ServiceError
from dnscheck.check import check_records
from dnscheck.lookup import Lookup, Status
from dnscheck.names import relative_host
from dnscheck.records import ExpectedRecord, Outcome, RecordResult
from dnscheck.resolver import DnsResolver
from storefronts.models import Storefront
from storefronts.services import (
    DomainNotConfigured,
    claim_verified_due,
    record_result_data,
    routing_records,
    sweep,
)
from webhooks.ssrf import is_public_address

logger = logging.getLogger(__name__)

LIVE_CHECK_EVERY = timedelta(hours=6)
LIVE_RETRY_EVERY = timedelta(minutes=10)  # while not ok/active, and after a transient error
LIVE_LEASE = timedelta(minutes=30)
LIVE_PROBE_BATCH = 50
LIVE_PROBE_BUDGET_SECONDS = 120  # what is left waits for the next run, under the time limit
PROBE_CONCURRENCY = 16
MAX_CNAME_HOPS = 8
MAX_HEADER_BYTES = 16384
USER_AGENT = "Domainkeeper-LiveProbe/1.0"
CAA_BLOCKS = "caa_blocks_issuance"
CAA_CRITICAL = 128
# Property tags a CA understands (RFC 8659 and the registry); an unknown one marked
# critical forbids issuance.
CAA_KNOWN_TAGS = frozenset(
    {"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuevmc", "issuemail"}
)
STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? ([0-9]{3})")

Routing = Storefront.RoutingStatus
Tls = Storefront.TlsStatus


class DomainNotVerified(ServiceError):
    code = "DOMAIN_NOT_VERIFIED"
    status = 400
    message = "The live status is checked once the custom domain is verified."


# --- what the probe sees (no Django below this line until "the service") -------------------


@dataclass(frozen=True)
class CaaVerdict:
    """The relevant CAA RRset (RFC 8659 3: the first one found climbing from the name
    towards the root) and whether it lets one of our CAs issue."""

    name: str | None = None  # where the RRset was found; None: no CAA up the whole tree
    records: tuple[str, ...] = ()
    permits: bool = True
    issuers: tuple[str, ...] = ()  # the CA identifiers its `issue` properties name
    critical: tuple[str, ...] = ()  # unknown properties flagged critical (forbid issuance)
    transient: str = ""  # why there is no verdict this time


@dataclass(frozen=True)
class HttpsObservation:
    address: str | None = None
    port: int = 443
    connected: bool = False
    certificate: dict[str, Any] | None = None  # subject, issuer, notAfter, names
    certificate_valid: bool = False
    error: str = ""  # the connection's, the handshake's or the certificate's
    http_status: int | None = None
    http_error: str = ""
    location: str | None = None  # a redirect's target, recorded, never followed


@dataclass(frozen=True)
class LiveProbe:
    routings: tuple[RecordResult, ...]  # the primary host's, then its `www` pair's
    caa: CaaVerdict
    addresses: tuple[str, ...] = ()
    https: HttpsObservation | None = None
    transient: str = ""  # DNS gave no evidence: why (the statuses stand)

    @property
    def routing(self) -> RecordResult:
        """The primary host's routing record."""
        return self.routings[0]

    @property
    def pair_routing(self) -> RecordResult | None:
        """The other name's, for a `www` pair."""
        return self.routings[1] if len(self.routings) > 1 else None

    @property
    def misrouted(self) -> RecordResult | None:
        """The first routing record that is not right, or None."""
        return next((r for r in self.routings if not r.ok), None)


@dataclass(frozen=True)
class ProbeOptions:
    port: int
    timeout: float
    ca_file: str
    ca_domains: tuple[str, ...]
    own_addresses: frozenset[str] = frozenset()  # our edge's, which may be private

    @classmethod
    def from_settings(cls) -> ProbeOptions:
        return cls(
            port=settings.LIVE_PROBE_HTTPS_PORT,
            timeout=settings.LIVE_PROBE_TIMEOUT,
            ca_file=settings.LIVE_PROBE_CA_FILE,
            ca_domains=tuple(d.strip().lower() for d in settings.TLS_CA_DOMAINS if d.strip()),
            own_addresses=frozenset(settings.CUSTOM_DOMAIN_TARGET_IPS),
        )


async def _follow(resolver: DnsResolver, name: str, rdtype: str) -> Lookup:
    """The answer at the end of a CNAME chain, as a recursive resolver gives it (a server
    that only answers for its own zones returns a chain that leaves them as the CNAME)."""
    lookup = await resolver.public(name, rdtype)
    for _ in range(MAX_CNAME_HOPS):
        if lookup.status != Status.NOERROR or lookup.values or not lookup.via:
            break
        lookup = await resolver.public(lookup.via, rdtype)
    return lookup


def judge_caa(name: str, values: Sequence[str], ca_domains: Sequence[str]) -> CaaVerdict:
    """RFC 8659 4: with `issue` properties present, one must name one of our CAs (an empty
    one, `0 issue ";"`, allows none); without any, issuance is not restricted. An unknown
    property flagged critical forbids issuance."""
    issuers: list[str] = []
    critical: list[str] = []
    has_issue = False
    for text in values:
        try:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.CAA, text)
        except (dns.exception.DNSException, ValueError):
            continue
        tag = rdata.tag.decode("ascii", "replace").lower()  # type: ignore[attr-defined]
        if tag == "issue":
            has_issue = True
            value = rdata.value.decode("utf-8", "replace")  # type: ignore[attr-defined]
            issuer = value.split(";", 1)[0].strip().lower()
            if issuer:
                issuers.append(issuer)
        elif rdata.flags & CAA_CRITICAL and tag not in CAA_KNOWN_TAGS:  # type: ignore[attr-defined]
            critical.append(text)
    ours = set(ca_domains)
    permits = not critical and (not has_issue or any(i in ours for i in issuers))
    return CaaVerdict(name, tuple(values), permits, tuple(dict.fromkeys(issuers)), tuple(critical))


async def caa_verdict(resolver: DnsResolver, name: str, ca_domains: Sequence[str]) -> CaaVerdict:
    labels = name.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]  # the root excluded
    lookups = await asyncio.gather(*(_follow(resolver, c, "CAA") for c in candidates))
    for candidate, lookup in zip(candidates, lookups, strict=True):
        if lookup.is_transient:  # the relevant set may be this one: no verdict
            detail = f"CAA at {candidate}: {lookup.status} {lookup.detail}".strip()
            return CaaVerdict(transient=detail)
        if lookup.found:
            return judge_caa(candidate, lookup.values, ca_domains)
    return CaaVerdict()


@lru_cache(maxsize=8)
def _tls_context(ca_file: str, verify: bool) -> ssl.SSLContext:
    """Built once per CA file: loading the system's CAs costs more than a handshake."""
    if verify:
        context = ssl.create_default_context(cafile=ca_file or None)
    else:  # only to read which certificate an invalid handshake offered
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    return context


def describe_certificate(der: bytes | None) -> dict[str, Any] | None:
    if not der:
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            names = san.value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            names = []
        return {
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "notBefore": cert.not_valid_before_utc.isoformat(),
            "notAfter": cert.not_valid_after_utc.isoformat(),
            "names": names,
        }
    except Exception:  # a certificate we cannot read is not a reason to lose the probe
        return None


def _peer_der(writer: asyncio.StreamWriter) -> bytes | None:
    ssl_object = writer.get_extra_info("ssl_object")
    return ssl_object.getpeercert(binary_form=True) if ssl_object else None


async def _offered_certificate(
    name: str, address: str, options: ProbeOptions
) -> dict[str, Any] | None:
    """The certificate a server offered whose handshake did not verify, for the record."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                address,
                options.port,
                ssl=_tls_context("", verify=False),
                server_hostname=name,
                ssl_handshake_timeout=options.timeout,
            ),
            options.timeout * 2,
        )
    except (OSError, TimeoutError):
        return None
    try:
        return describe_certificate(_peer_der(writer))
    finally:
        writer.transport.abort()


async def _https_at(name: str, address: str, options: ProbeOptions) -> HttpsObservation:
    seen = {"address": address, "port": options.port}
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                address,
                options.port,
                ssl=_tls_context(options.ca_file, verify=True),
                server_hostname=name,
                ssl_handshake_timeout=options.timeout,
                limit=MAX_HEADER_BYTES,
            ),
            options.timeout * 2,
        )
    except ssl.SSLCertVerificationError as exc:
        certificate = await _offered_certificate(name, address, options)
        error = f"certificate not valid for {name}: {exc.verify_message or exc.reason}"
        return HttpsObservation(**seen, connected=True, certificate=certificate, error=error)
    except ssl.SSLError as exc:
        error = f"TLS handshake failed: {exc.reason or exc}"
        return HttpsObservation(**seen, connected=True, error=error)
    except TimeoutError:
        error = f"no TLS connection within {options.timeout * 2:g} s"
        return HttpsObservation(**seen, error=error)
    except ConnectionAbortedError:  # asyncio's ssl_handshake_timeout
        error = f"connected, but no TLS handshake within {options.timeout:g} s"
        return HttpsObservation(**seen, error=error)
    except OSError as exc:
        return HttpsObservation(**seen, error=f"cannot connect: {exc.strerror or exc}")
    try:
        certificate = describe_certificate(_peer_der(writer))
        request = (
            f"GET / HTTP/1.1\r\nHost: {name}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii"))
        status, location, http_error = None, None, ""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), options.timeout)
        except TimeoutError:
            http_error = f"no HTTP answer within {options.timeout:g} s"
        except asyncio.LimitOverrunError:
            http_error = f"the answer's headers are longer than {MAX_HEADER_BYTES} bytes"
        except asyncio.IncompleteReadError:
            http_error = "the server closed the connection without an HTTP answer"
        except OSError as exc:
            http_error = f"the connection failed: {exc}"
        else:
            match = STATUS_LINE.match(head)
            if match is None:
                http_error = "the answer is not HTTP"
            else:
                status = int(match.group(1))
                location = _header(head, b"location")
        return HttpsObservation(
            **seen,
            connected=True,
            certificate=certificate,
            certificate_valid=True,
            http_status=status,
            http_error=http_error,
            location=location,
        )
    finally:
        writer.transport.abort()  # no polite TLS shutdown: a slow host could stall it


def _header(head: bytes, wanted: bytes) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == wanted:
            return value.strip().decode("latin-1")[:500]
    return None


async def probe_https(
    name: str, addresses: Sequence[str], options: ProbeOptions
) -> HttpsObservation:
    """HTTPS at the name's addresses: the first that accepts a connection is the answer."""
    if not addresses:
        return HttpsObservation(port=options.port, error="no A or AAAA record to connect to")
    # A customer's DNS must not turn the probe into a look inside our network: a private
    # address is only ever our own edge's.
    reachable = [a for a in addresses if a in options.own_addresses or is_public_address(a)]
    if not reachable:
        error = f"not probed: {', '.join(addresses)} is not a public address"
        return HttpsObservation(port=options.port, error=error)
    observation = HttpsObservation()
    for address in reachable[:2]:
        observation = await _https_at(name, address, options)
        if observation.connected:
            break
    return observation


async def probe(
    resolver: DnsResolver, records: Sequence[ExpectedRecord], options: ProbeOptions
) -> LiveProbe:
    """One domain: the routing records (the primary host's first, then its `www` pair's),
    the CAA set and the addresses at once, then HTTPS at the primary host, where visitors
    end up."""
    name = records[0].name
    routings, caa, a, aaaa = await asyncio.gather(
        check_records(resolver, list(records)),
        caa_verdict(resolver, name, options.ca_domains),
        _follow(resolver, name, "A"),
        _follow(resolver, name, "AAAA"),
    )
    routings = tuple(routings)
    transient = []
    for result in routings:
        if result.outcome == Outcome.ERROR:
            transient.append(
                f"routing record of {result.record.name}: {result.detail or result.hint}"
            )
    if caa.transient:
        transient.append(caa.transient)
    if a.is_transient and not aaaa.found:
        transient.append(f"addresses of {name}: {a.status} {a.detail}".strip())
    if transient:
        return LiveProbe(routings, caa, transient="; ".join(transient))
    addresses = (*a.values, *(aaaa.values if aaaa.found else ()))
    https = await probe_https(name, addresses, options)
    return LiveProbe(routings, caa, addresses, https)


# --- the service ----------------------------------------------------------------------------


def _caa_fix(caa: CaaVerdict, zone: str, ca_domains: Sequence[str]) -> str:
    if caa.permits or caa.name is None:
        return ""
    host = relative_host(caa.name, zone) if zone else caa.name + "."
    if caa.critical:
        return (
            f"The CAA record {', '.join(caa.critical)} at `{host}` is flagged critical and no "
            "certificate authority understands it, so none may issue a certificate. Delete it "
            "or clear its flag (0)."
        )
    wanted = " and ".join(f'`0 issue "{d}"`' for d in ca_domains)
    return (
        f"The CAA records at `{host}` allow only {', '.join(caa.issuers) or 'no CA'} to "
        f"issue certificates, so ours cannot. Add a CAA record at `{host}` with the value "
        f"{wanted}; keep the others for the CAs you use elsewhere."
    )


def _observed(live: LiveProbe, options: ProbeOptions) -> dict[str, Any]:
    routing = live.routing
    https = live.https or HttpsObservation()
    return {
        "routing": record_result_data(routing),
        "pairRouting": record_result_data(live.pair_routing) if live.pair_routing else None,
        "addresses": list(live.addresses),
        "tls": {
            "address": https.address,
            "port": https.port,
            "valid": https.certificate_valid,
            "error": https.error or None,
            "certificate": https.certificate,
        },
        "http": {
            "status": https.http_status,
            "error": https.http_error or None,
            "location": https.location,
        },
        "caa": {
            "name": live.caa.name,
            "records": list(live.caa.records),
            "permits": live.caa.permits,
            "issuers": list(live.caa.issuers),
            "ourIssuers": list(options.ca_domains),
            "suggested": [] if live.caa.permits else [f'0 issue "{d}"' for d in options.ca_domains],
            "fix": _caa_fix(live.caa, routing.record.zone, options.ca_domains),
        },
    }


def _tls_status(storefront: Storefront, live: LiveProbe, now: datetime) -> str:
    https = live.https or HttpsObservation()
    if https.certificate_valid:
        answered = https.http_status is not None and https.http_status < 500
        return Tls.ACTIVE if answered else Tls.FAILED
    grace = timedelta(minutes=settings.LIVE_PROBE_TLS_GRACE_MINUTES)
    verified_at = storefront.custom_domain_verified_at
    if not live.caa.permits or (verified_at and now - verified_at < grace):
        return Tls.PENDING
    return Tls.FAILED


def _attempt_failed(storefront: Storefront, error: str) -> dict[str, Any]:
    """The changes for a probe that gave no evidence: the statuses and what was observed
    stand, the attempt is noted, and the probe comes back sooner."""
    now = timezone.now()
    observed = {**storefront.live_observed, "lastAttempt": {"at": now.isoformat(), "error": error}}
    return {"live_observed": observed, "live_next_check_at": now + LIVE_RETRY_EVERY}


def _changes(storefront: Storefront, live: LiveProbe, options: ProbeOptions) -> dict[str, Any]:
    if live.transient:
        return _attempt_failed(storefront, live.transient)
    now = timezone.now()
    misrouted = live.misrouted  # either name of a pair
    if misrouted is None:
        routing = Routing.OK
    elif all(r.ok or r.hint == "propagating" for r in live.routings):
        routing = Routing.UNKNOWN  # published; resolvers' caches still say no
    else:
        routing = Routing.MISCONFIGURED
    tls = _tls_status(storefront, live, now)
    hint = misrouted.hint or "" if misrouted else ""
    if not hint and not live.caa.permits:
        hint = CAA_BLOCKS
    healthy = routing == Routing.OK and tls == Tls.ACTIVE and not hint
    return {
        "routing_status": routing,
        "tls_status": tls,
        "live_hint": hint,
        "live_observed": _observed(live, options),
        "live_checked_at": now,
        "live_next_check_at": now + (LIVE_CHECK_EVERY if healthy else LIVE_RETRY_EVERY),
    }


def live_fix(storefront: Storefront) -> str:
    """What to do about the live hint, as the probe worded it."""
    observed = storefront.live_observed or {}
    if not storefront.live_hint:
        return ""
    if storefront.live_hint == CAA_BLOCKS:
        return (observed.get("caa") or {}).get("fix") or ""
    for part in ("routing", "pairRouting"):  # the first name that is not right
        seen = observed.get(part) or {}
        if seen.get("outcome") != Outcome.OK and seen.get("fix"):
            return seen["fix"]
    return ""


def _routing_records(storefront: Storefront) -> list[ExpectedRecord]:
    """The primary host's routing record first (HTTPS is probed there), then the other
    name's, for a `www` pair."""
    records = routing_records(storefront)
    return sorted(records, key=lambda record: record.name != storefront.primary_host)


def _probe_all(storefronts: Sequence[Storefront]) -> list[str]:
    """Probes the storefronts at once and writes each one's result (compare-and-swap on
    its domain: a domain changed meanwhile is left to its next probe). Returns each
    one's outcome: checked, transient or skipped (also a stored name that no longer
    validates: its lease brings it back)."""
    options = ProbeOptions.from_settings()
    deadline = options.timeout * 6 + settings.DNS_TIMEOUT * 3  # a net under the steps' own
    jobs: list[tuple[Storefront, list[ExpectedRecord]]] = []
    for storefront in storefronts:
        try:
            jobs.append((storefront, _routing_records(storefront)))
        except ServiceError:
            logger.warning("live probe skipped %s: not a valid name", storefront.custom_domain)

    async def run() -> list[LiveProbe | BaseException]:
        resolver = dns_resolver()
        limit = asyncio.Semaphore(PROBE_CONCURRENCY)

        async def one(records: list[ExpectedRecord]) -> LiveProbe:
            async with limit:
                return await asyncio.wait_for(probe(resolver, records, options), deadline)

        return await asyncio.gather(*(one(r) for _, r in jobs), return_exceptions=True)

    outcomes = {storefront.pk: "skipped" for storefront in storefronts}
    for (storefront, _), live in zip(jobs, asyncio.run(run()), strict=True):
        if isinstance(live, BaseException):
            if not isinstance(live, TimeoutError):
                logger.error("live probe of %s failed", storefront.custom_domain, exc_info=live)
            changes = _attempt_failed(storefront, "the probe did not finish")
            outcome = "transient"
        else:
            changes = _changes(storefront, live, options)
            outcome = "transient" if live.transient else "checked"
        written = Storefront.objects.filter(
            pk=storefront.pk,
            custom_domain=storefront.custom_domain,
            custom_domain_verified=True,
        ).update(**changes)
        if written:
            outcomes[storefront.pk] = outcome
    return [outcomes[storefront.pk] for storefront in storefronts]


def storefront_live_probe(*, storefront: Storefront) -> str:
    """Probes a verified domain now ("check now"); the row is refreshed with the result.
    Returns checked, transient (DNS gave no evidence: nothing changed) or skipped."""
    if not storefront.custom_domain:
        raise DomainNotConfigured()
    if not storefront.custom_domain_verified:
        raise DomainNotVerified()
    routing_records(storefront)  # a stored name that no longer validates: say so (400)
    [outcome] = _probe_all([storefront])
    storefront.refresh_from_db()
    return outcome


def storefronts_live_probe_due(*, limit: int = LIVE_PROBE_BATCH) -> int:
    """Beat: claims verified domains whose live probe is due (SKIP LOCKED, a lease on
    `live_next_check_at`; never probed first) and probes them."""
    ids = claim_verified_due(field="live_next_check_at", lease=LIVE_LEASE, limit=limit)
    due = list(Storefront.objects.filter(pk__in=ids, custom_domain_verified=True))
    if due:
        _probe_all(due)
    return len(ids)


def storefronts_live_probe_sweep(
    *, budget_seconds: float = LIVE_PROBE_BUDGET_SECONDS
) -> dict[str, int]:
    """The every-minute live probe job (beat and the cron endpoint alike): batches of due
    domains until none is left or the budget is spent."""
    probed = sweep(
        storefronts_live_probe_due, batch=LIVE_PROBE_BATCH, budget_seconds=budget_seconds
    )
    return {"probed": probed}
