"""The one seam through which Domainkeeper asks DNS. Three ways of looking:

- the public view through the configured recursive resolvers (`DNS_NAMESERVERS`, else the
  system's), what a mail receiver or a browser sees;
- the public view through Cloudflare-JSON DNS over HTTPS (`DNS_DOH_URL`), for diagnose;
- the authoritative view: the zone's own nameservers asked directly (on
  `DNS_AUTHORITATIVE_PORT`), which see a record the moment it is published.

Every method returns a `Lookup` or a `Zone` whose status says what happened; none raises
for a DNS outcome. Each question has its own timeout (`DNS_TIMEOUT`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import requests

from dnscheck import transport
from dnscheck.lookup import Lookup, Status, View, normalise_name, normalise_rdata, valid_query

DEFAULT_DOH_URL = "https://cloudflare-dns.com/dns-query"
ZONE_CACHE_SECONDS = 300.0
ZONE_CACHE_MAX = 20_000  # names (and zones) remembered per resolver
DOH_STATUS = {0: Status.NOERROR, 2: Status.SERVFAIL, 3: Status.NXDOMAIN, 5: Status.REFUSED}
# When every server failed, report the most telling failure.
FAILURE_ORDER = (Status.SERVFAIL, Status.REFUSED, Status.TIMEOUT, Status.ERROR)


@dataclass(frozen=True)
class ResolverConfig:
    nameservers: tuple[tuple[str, int], ...] = ()  # empty: the system's resolvers
    doh_url: str = DEFAULT_DOH_URL
    authoritative_port: int = 53
    timeout: float = 3.0

    @classmethod
    def from_settings(
        cls,
        *,
        nameservers: str = "",
        doh_url: str = DEFAULT_DOH_URL,
        authoritative_port: int = 53,
        timeout: float = 3.0,
    ) -> ResolverConfig:
        return cls(
            nameservers=parse_nameservers(nameservers),
            doh_url=doh_url or DEFAULT_DOH_URL,
            authoritative_port=authoritative_port,
            timeout=timeout,
        )


def parse_nameservers(text: str | Iterable[str]) -> tuple[tuple[str, int], ...]:
    """`1.1.1.1, 9.9.9.9:53, [2606:4700::1111]:53, ::1` -> ((host, port), ...)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    servers = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else 53
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
            port = int(port_text)
        else:
            host, port = item, 53
        if not 0 < port < 65536:
            raise ValueError(f"nameserver port out of range: {item!r}")
        servers.append((host, port))
    return tuple(servers)


@dataclass(frozen=True)
class Zone:
    """The zone a name lives in, and the addresses of its authoritative servers."""

    name: str
    status: Status
    nameservers: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    detail: str = ""
    soa_minimum: int | None = field(default=None, compare=False)  # the negative-cache TTL

    @property
    def found(self) -> bool:
        return self.status == Status.NOERROR


def _resolvers(config: ResolverConfig) -> tuple[tuple[str, int], ...]:
    """The resolvers the public view asks: `DNS_NAMESERVERS`, else the system's (read as
    dnspython reads /etc/resolv.conf, each on its port). Questions go without EDNS, as the
    stub resolver sent them; a truncated answer is asked again over TCP."""
    if config.nameservers:
        return config.nameservers
    system = dns.resolver.Resolver()
    servers = []
    for nameserver in system.nameservers:
        if isinstance(nameserver, dns.nameserver.Do53Nameserver):
            servers.append((nameserver.address, nameserver.port))
        elif isinstance(nameserver, str):
            servers.append((nameserver, system.nameserver_ports.get(nameserver, system.port)))
    return tuple(servers)


def _zone_in(response: dns.message.Message, name: dns.name.Name) -> dns.name.Name | None:
    """The zone an SOA question's answer names: `name` itself when it has the SOA, else
    the owner of an SOA above it in the authority section (a negative answer's)."""
    if response.rcode() == dns.rcode.NOERROR:
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == name:
                return name
    for rrset in response.authority:
        if (
            rrset.rdtype == dns.rdatatype.SOA
            and rrset.rdclass == dns.rdataclass.IN
            and name.is_subdomain(rrset.name)
            and rrset.name != name
        ):
            return rrset.name
    return None


def lookup_from_message(
    name: str, rdtype: str, view: View, response: dns.message.Message, detail: str = ""
) -> Lookup:
    """Reads one response: follows a CNAME chain inside it as a resolver would, keeps only
    the records at the chain's end of the asked type. An NXDOMAIN is about the chain's last
    name (RFC 6604): `via` tells an alias of a missing name from a missing name."""
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        status = Status.REFUSED if rcode == dns.rcode.REFUSED else Status.SERVFAIL
        return Lookup(name, rdtype, view, status, detail=detail or dns.rcode.to_text(rcode))
    wanted = dns.rdatatype.from_text(rdtype)
    by_name: dict[tuple[str, int], dns.rrset.RRset] = {
        (normalise_name(rrset.name.to_text()), rrset.rdtype): rrset for rrset in response.answer
    }
    current, seen = name, {name}
    if wanted != dns.rdatatype.CNAME:
        while (current, dns.rdatatype.CNAME) in by_name:
            target = normalise_name(by_name[(current, dns.rdatatype.CNAME)][0].target.to_text())
            if target in seen:
                return Lookup(name, rdtype, view, Status.ERROR, detail="CNAME loop")
            seen.add(target)
            current = target
    if rcode == dns.rcode.NXDOMAIN:
        if current != name:
            return Lookup(
                name, rdtype, view, Status.NXDOMAIN, detail=f"CNAME to {current}", via=current
            )
        return Lookup(name, rdtype, view, Status.NXDOMAIN, detail=detail)
    rrset = by_name.get((current, wanted))
    if rrset is None:
        if current != name:  # a chain that leaves this answer: the rest is elsewhere
            return Lookup(
                name, rdtype, view, Status.NOERROR, detail=f"CNAME to {current}", via=current
            )
        return Lookup(name, rdtype, view, Status.NODATA, detail=detail)
    values, strings = [], []
    for rdata in rrset:
        value, parts = normalise_rdata(rdata)
        values.append(value)
        if parts:
            strings.append(parts)
    return Lookup(
        name,
        rdtype,
        view,
        Status.NOERROR,
        values=tuple(values),
        txt_strings=tuple(strings),
        ttl=rrset.ttl,
        detail=f"CNAME to {current}" if current != name else detail,
        via=current if current != name else None,
    )


class DnsResolver:
    """Create one per process (or per batch); it holds no connections between calls."""

    def __init__(self, config: ResolverConfig | None = None) -> None:
        self.config = config or ResolverConfig()
        self._resolvers = _resolvers(self.config)
        self._resolver_names = tuple(f"{host}@{port}" for host, port in self._resolvers)
        self._zones: dict[str, tuple[float, Zone]] = {}
        self._zones_in_flight: dict[tuple[int, str], asyncio.Future[Zone]] = {}
        self._http = requests.Session()

    # --- the public view -----------------------------------------------------------------

    async def public(self, name: str, rdtype: str) -> Lookup:
        """Asks the configured resolvers in turn (recursion desired) until one answers
        NOERROR or NXDOMAIN, within `DNS_TIMEOUT` for all of them, as dnspython's stub
        resolver with our settings would; the failure that tells most otherwise."""
        qname = normalise_name(name)
        invalid = valid_query(qname, rdtype)
        if invalid:
            return Lookup(qname, rdtype, View.PUBLIC, Status.ERROR, detail=invalid)
        question = transport.Question(qname, rdtype)
        response, status, detail = await self._exchange(question, self._resolvers)
        servers = self._resolver_names
        if response is None:
            if status == Status.TIMEOUT:
                detail = f"no answer within {self.config.timeout:g} s"
                return Lookup(qname, rdtype, View.PUBLIC, status, detail=detail)
            if status == Status.ERROR:
                return Lookup(qname, rdtype, View.PUBLIC, status, detail=detail)
            return Lookup(qname, rdtype, View.PUBLIC, status, detail=detail, servers=servers)
        if response.rcode() == dns.rcode.NXDOMAIN:
            # As the stub resolver reported it: the asked name is missing, chain or not.
            return Lookup(qname, rdtype, View.PUBLIC, Status.NXDOMAIN, servers=servers)
        return lookup_from_message(qname, rdtype, View.PUBLIC, response)

    async def _exchange(
        self,
        question: transport.Question,
        servers: Iterable[tuple[str, int]],
        *,
        deadline: float | None = None,
        authoritative: bool = False,
    ) -> tuple[dns.message.Message | None, Status, str]:
        """Asks the servers in turn until one answers NOERROR or NXDOMAIN (with the AA flag,
        when `authoritative`), all by `deadline` (default: `DNS_TIMEOUT` from now). Returns
        that answer, or None with the most telling failure and every server's."""
        if deadline is None:
            deadline = time.monotonic() + self.config.timeout
        failures: list[tuple[Status, str]] = []
        for host, port in servers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                failures.append((Status.TIMEOUT, "out of time"))
                break
            try:
                response = await transport.udp(question, host, port, remaining)
                if response.flags & dns.flags.TC:
                    remaining = max(deadline - time.monotonic(), 0.1)
                    response = await transport.tcp(question, host, port, remaining)
            except dns.exception.Timeout:
                failures.append((Status.TIMEOUT, f"{host} did not answer"))
                continue
            except (dns.exception.DNSException, OSError, ValueError) as exc:
                failures.append((Status.ERROR, f"{host}: {exc}"))
                continue
            rcode = response.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                if authoritative and not response.flags & dns.flags.AA:
                    failures.append((Status.SERVFAIL, f"{host} is not authoritative (lame)"))
                    continue
                return response, Status.NOERROR, f"from {host}"
            failure = Status.REFUSED if rcode == dns.rcode.REFUSED else Status.SERVFAIL
            failures.append((failure, f"{host} answered {dns.rcode.to_text(rcode)}"))
        status = min((s for s, _ in failures), key=FAILURE_ORDER.index, default=Status.ERROR)
        return None, status, "; ".join(d for _, d in failures) or "no server to ask"

    # --- DNS over HTTPS (Cloudflare's JSON format) --------------------------------------------

    async def doh(self, name: str, rdtype: str) -> Lookup:
        qname = normalise_name(name)
        invalid = valid_query(qname, rdtype)
        if invalid:
            return Lookup(qname, rdtype, View.DOH, Status.ERROR, detail=invalid)
        return await asyncio.to_thread(self._doh_blocking, qname, rdtype)

    def _doh_blocking(self, qname: str, rdtype: str) -> Lookup:
        timeout = self.config.timeout
        try:
            response = self._http.get(
                self.config.doh_url,
                params={"name": qname, "type": rdtype},
                headers={"accept": "application/dns-json"},
                timeout=(timeout, timeout),
                allow_redirects=False,
            )
        except requests.Timeout:
            return Lookup(qname, rdtype, View.DOH, Status.TIMEOUT, detail="DoH timed out")
        except (requests.RequestException, UnicodeError, ValueError) as exc:
            return Lookup(qname, rdtype, View.DOH, Status.ERROR, detail=f"DoH: {exc}")
        if response.status_code != 200:
            detail = f"DoH answered HTTP {response.status_code}"
            return Lookup(qname, rdtype, View.DOH, Status.ERROR, detail=detail)
        try:
            body = response.json()
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return Lookup(qname, rdtype, View.DOH, Status.ERROR, detail="DoH answer is not JSON")
        return self._lookup_from_doh(qname, rdtype, body)

    @staticmethod
    def _lookup_from_doh(qname: str, rdtype: str, body: dict) -> Lookup:
        """The format has no RFC: missing and extra keys are tolerated, and an answer that
        cannot be read is skipped; nothing in a reply can make this raise."""
        code = body.get("Status")
        valid_code = isinstance(code, int) and not isinstance(code, bool)
        status = DOH_STATUS.get(code, Status.ERROR) if valid_code else Status.ERROR
        if status != Status.NOERROR:
            return Lookup(qname, rdtype, View.DOH, status, detail=f"DoH Status {code!r}")
        answers = body.get("Answer")
        if not isinstance(answers, list):
            answers = []
        message = dns.message.make_response(dns.message.make_query(qname + ".", rdtype))
        for answer in answers:
            if not isinstance(answer, dict):
                continue
            try:
                answer_type = dns.rdatatype.RdataType.make(int(answer["type"]))
                rdata = dns.rdata.from_text(dns.rdataclass.IN, answer_type, str(answer["data"]))
                owner = dns.name.from_text(normalise_name(str(answer["name"])) + ".")
                ttl = int(answer.get("TTL", 0))
                rrset = message.find_rrset(
                    message.answer, owner, dns.rdataclass.IN, answer_type, create=True
                )
                rrset.add(rdata, ttl)
            except (KeyError, TypeError, ValueError, UnicodeError, dns.exception.DNSException):
                continue
        try:
            return lookup_from_message(qname, rdtype, View.DOH, message)
        except (dns.exception.DNSException, ValueError, AttributeError) as exc:
            return Lookup(qname, rdtype, View.DOH, Status.ERROR, detail=f"unreadable DoH: {exc}")

    # --- the authoritative view ---------------------------------------------------------

    async def zone_for(self, name: str) -> Zone:
        """The zone containing `name` (SOA walk through the public view) and its servers.
        Cached for a few minutes; concurrent callers for one name share one walk."""
        qname = normalise_name(name)
        invalid = valid_query(qname, "SOA")
        if invalid:
            return Zone(qname, Status.ERROR, detail=invalid)
        cached = self._zones.get(qname)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        zone = await self._shared(f"walk {qname}", lambda: self._find_zone(qname))
        if zone.found:
            now = time.monotonic()
            if len(self._zones) >= ZONE_CACHE_MAX:
                self._prune_zones(now)
            self._zones[qname] = (now + ZONE_CACHE_SECONDS, zone)
            self._zones.setdefault(zone.name, (now + ZONE_CACHE_SECONDS, zone))
        return zone

    def _prune_zones(self, now: float) -> None:
        """The process's resolver lives as long as the worker: what expired goes, and if
        the names of the last few minutes alone are too many, all of them."""
        self._zones = {k: v for k, v in self._zones.items() if v[0] > now}
        if len(self._zones) >= ZONE_CACHE_MAX // 2:
            self._zones = {}

    def _shared(self, key: str, work: Callable[[], Coroutine[Any, Any, Zone]]) -> Awaitable[Zone]:
        """One walk or one zone's server lookup at a time per key: concurrent callers share
        it. Shared only within its own event loop: the resolver may be used from several
        threads, each with its loop (Celery threads, sync views)."""
        key_in_loop = (id(asyncio.get_running_loop()), key)
        task = self._zones_in_flight.get(key_in_loop)
        if task is None:
            task = asyncio.ensure_future(work())
            self._zones_in_flight[key_in_loop] = task
            task.add_done_callback(lambda _: self._zones_in_flight.pop(key_in_loop, None))
        return asyncio.shield(task)

    async def _find_zone(self, qname: str) -> Zone:
        """Walks up from the name, asking the resolvers for its SOA, as dnspython's
        `zone_for_name`: the name that has the SOA, or the zone whose SOA a negative answer
        carries, is the zone. The whole walk has `DNS_TIMEOUT`."""
        deadline = time.monotonic() + self.config.timeout
        name = dns.name.from_text(qname + ".")
        zone_name = None
        while zone_name is None:
            question = transport.Question(name.to_text(), "SOA")
            response, status, detail = await self._exchange(
                question, self._resolvers, deadline=deadline
            )
            if response is None:
                if status == Status.TIMEOUT:
                    return Zone(qname, status, detail="no SOA answer in time")
                return Zone(qname, status, detail=detail)
            zone_name = _zone_in(response, name)
            if zone_name is None:
                try:
                    name = name.parent()
                except dns.name.NoParent:
                    return Zone(qname, Status.ERROR, detail="no SOA up to the root")
        zone = normalise_name(zone_name.to_text())
        known = self._zones.get(zone)  # many names share a zone: its servers are asked once
        if known and known[0] > time.monotonic() and known[1].name == zone:
            return known[1]
        # Names of one zone walked at once (a chunk's domains) wait for one server lookup.
        return await self._shared(f"servers {zone}", lambda: self._zone_servers(zone))

    async def _zone_servers(self, zone: str) -> Zone:
        """The zone's NS set, the nameservers' addresses and the SOA's negative TTL."""
        ns_lookup, soa_lookup = await asyncio.gather(
            self.public(zone, "NS"), self.public(zone, "SOA")
        )
        if not ns_lookup.found:
            status = Status.ERROR if ns_lookup.is_evidence else ns_lookup.status
            return Zone(zone, status, detail=f"no NS records for {zone}: {ns_lookup.status}")
        nameservers = tuple(sorted(ns_lookup.values))
        address_lookups = await asyncio.gather(
            *(self.public(ns, "A") for ns in nameservers),
            *(self.public(ns, "AAAA") for ns in nameservers),
        )
        addresses = tuple(dict.fromkeys(v for lookup in address_lookups for v in lookup.values))
        if not addresses:
            return Zone(
                zone,
                Status.ERROR,
                nameservers=nameservers,
                detail=f"the nameservers of {zone} have no addresses",
            )
        soa_minimum = None
        if soa_lookup.found:
            with contextlib.suppress(ValueError, IndexError):
                soa_minimum = int(soa_lookup.values[0].split()[-1])
        return Zone(zone, Status.NOERROR, nameservers, addresses, soa_minimum=soa_minimum)

    async def authoritative(self, name: str, rdtype: str, zone: Zone | None = None) -> Lookup:
        """Asks the zone's own servers in turn until one gives evidence; without recursion,
        so a CNAME to another zone comes back alone (ask for CNAME explicitly)."""
        qname = normalise_name(name)
        invalid = valid_query(qname, rdtype)
        if invalid:
            return Lookup(qname, rdtype, View.AUTHORITATIVE, Status.ERROR, detail=invalid)
        zone = zone or await self.zone_for(qname)
        if not zone.found:
            return Lookup(qname, rdtype, View.AUTHORITATIVE, zone.status, detail=zone.detail)
        question = transport.Question(qname, rdtype, recursion=False)
        port = self.config.authoritative_port
        response, status, detail = await self._exchange(
            question, [(address, port) for address in zone.addresses], authoritative=True
        )
        if response is None:
            return Lookup(qname, rdtype, View.AUTHORITATIVE, status, detail=detail)
        return lookup_from_message(qname, rdtype, View.AUTHORITATIVE, response, detail=detail)

    async def lookup(self, name: str, rdtype: str, view: View = View.PUBLIC) -> Lookup:
        if view == View.AUTHORITATIVE:
            return await self.authoritative(name, rdtype)
        if view == View.DOH:
            return await self.doh(name, rdtype)
        return await self.public(name, rdtype)
