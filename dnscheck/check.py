"""Expected records in, verdicts out: the batch API over the resolver seam.

    results = await check_records(resolver, records)         # many at once
    results = check_records_blocking(resolver, records)      # from sync code (Celery, views)
    summary = summarise(results, zone_nameservers=...)       # or check_set() for both

Each record is first looked up in the public view; only a record that is not right there
costs the follow-up questions (the authoritative view, the doubled name, other types at
the name). Identical questions within one batch are asked once, and at most `concurrency`
are in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from dnscheck import transport
from dnscheck.classify import (
    AddressObservation,
    CnameObservation,
    DmarcObservation,
    MxObservation,
    SpfEvaluation,
    TxtObservation,
    classify_apex_address,
    classify_cname,
    classify_dmarc,
    classify_mail_from_mx,
    classify_spf,
    classify_txt_token,
    classify_txt_value,
    domain_not_found,
    is_spf,
    spf_terms,
    summarise,
)
from dnscheck.lookup import Lookup, Status, View
from dnscheck.names import public_suffix_list
from dnscheck.records import ExpectedRecord, Purpose, RecordResult, Summary
from dnscheck.resolver import DnsResolver, Zone

DEFAULT_CONCURRENCY = 64
SPF_MAX_DEPTH = 10


def base_name(name: str) -> str:
    """The domain a record belongs to: `<t>._domainkey.mail.acme.com` -> `mail.acme.com`,
    `_dmarc.acme.com` -> `acme.com`. Zone walks start here, once per domain."""
    labels = name.split(".")
    underscored = [i for i, label in enumerate(labels) if label.startswith("_")]
    if underscored:
        labels = labels[underscored[-1] + 1 :]
    return ".".join(labels)


@dataclass
class _Batch:
    resolver: DnsResolver
    limit: asyncio.Semaphore
    memo: dict[tuple[View, str, str], asyncio.Task[Lookup]]
    authoritative: bool
    public_view: View = View.PUBLIC  # View.DOH: the public view through DNS over HTTPS

    def ask(
        self, view: View, name: str, rdtype: str, zone: Zone | None = None
    ) -> Awaitable[Lookup]:
        key = (view, name.lower().rstrip("."), rdtype)
        task = self.memo.get(key)
        if task is None:
            task = asyncio.ensure_future(self._ask(view, key[1], rdtype, zone))
            self.memo[key] = task
        return task

    async def _ask(self, view: View, name: str, rdtype: str, zone: Zone | None) -> Lookup:
        async with self.limit:
            if view == View.AUTHORITATIVE:
                return await self.resolver.authoritative(name, rdtype, zone)
            if view == View.DOH:
                return await self.resolver.doh(name, rdtype)
            return await self.resolver.public(name, rdtype)

    def public(self, name: str, rdtype: str) -> Awaitable[Lookup]:
        return self.ask(self.public_view, name, rdtype)

    async def maybe_authoritative(self, name: str, rdtype: str, zone: Zone) -> Lookup | None:
        """The zone's own servers, asked with the zone already found (no second walk)."""
        if not self.authoritative or not zone.found:
            return None
        return await self.ask(View.AUTHORITATIVE, name, rdtype, zone)

    async def zone(self, name: str) -> Zone:
        async with self.limit:
            return await self.resolver.zone_for(name)


async def check_records(
    resolver: DnsResolver,
    records: Sequence[ExpectedRecord],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    authoritative: bool = True,
    public_view: View = View.PUBLIC,
) -> list[RecordResult]:
    """Checks every record; the results come back in the order of `records`, each with
    its zone filled in (so `result.record.host` is what to type). `public_view=View.DOH`
    looks through DNS over HTTPS (`DNS_DOH_URL`) instead of the configured resolvers.
    The batch's questions to one server share one socket (`transport.shared_sockets`)."""
    async with transport.shared_sockets():
        return await _check_records(
            resolver, records, concurrency, authoritative=authoritative, public_view=public_view
        )


async def _check_records(
    resolver: DnsResolver,
    records: Sequence[ExpectedRecord],
    concurrency: int,
    *,
    authoritative: bool,
    public_view: View,
) -> list[RecordResult]:
    batch = _Batch(resolver, asyncio.Semaphore(concurrency), {}, authoritative, public_view)
    bases = sorted({base_name(r.name) for r in records})
    zones = await _zones(batch, bases)
    missing = dict(
        zip(
            bases,
            await asyncio.gather(*(_registrable_missing(batch, zones[b], b) for b in bases)),
            strict=True,
        )
    )
    siblings: dict[str, frozenset[str]] = {}
    for record in records:
        if record.type == "CNAME":
            key = base_name(record.name)
            siblings[key] = siblings.get(key, frozenset()) | {record.value.lower().rstrip(".")}
    try:
        return list(
            await asyncio.gather(
                *(
                    _check_one(
                        batch,
                        r,
                        zones[base_name(r.name)],
                        siblings.get(base_name(r.name)),
                        missing[base_name(r.name)],
                    )
                    for r in records
                )
            )
        )
    finally:
        for task in batch.memo.values():
            task.cancel()


def check_records_blocking(
    resolver: DnsResolver, records: Sequence[ExpectedRecord], **options: object
) -> list[RecordResult]:
    return asyncio.run(check_records(resolver, records, **options))  # type: ignore[arg-type]


async def check_set(
    resolver: DnsResolver, records: Sequence[ExpectedRecord], **options: object
) -> Summary:
    """Checks a set of records that belong together and gives the verdict over them."""
    results = await check_records(resolver, records, **options)  # type: ignore[arg-type]
    nameservers: tuple[str, ...] = ()
    if records:
        zone = await resolver.zone_for(base_name(records[0].name))
        nameservers = zone.nameservers
    return summarise(results, zone_nameservers=nameservers)


async def _zones(batch: _Batch, names: Sequence[str]) -> dict[str, Zone]:
    """The zone of each name, with one walk per family of names: the deepest names are
    walked, and a name above one of them lies in that one's zone when the zone's apex is
    at or above it (no zone cut can lie between). A domain's records (`bounces.<d>` and
    `<d>` itself) so cost one walk. Any other name is walked itself."""
    below: dict[str, list[str]] = {}
    for name in names:
        for ancestor in _ancestors(name):
            below.setdefault(ancestor, []).append(name)
    deepest = [n for n in names if n not in below]
    zones = dict(zip(deepest, await asyncio.gather(*(batch.zone(n) for n in deepest)), strict=True))
    rest = []
    for name in names:
        if name in zones:
            continue
        walked = (zones[n] for n in below[name] if n in zones)
        zone = next((z for z in walked if z.found and _at_or_below(name, z.name)), None)
        if zone is None:
            rest.append(name)
        else:
            zones[name] = zone
    zones.update(zip(rest, await asyncio.gather(*(batch.zone(n) for n in rest)), strict=True))
    return zones


def _ancestors(name: str) -> list[str]:
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]


def _at_or_below(name: str, apex: str) -> bool:
    return name == apex or name.endswith("." + apex)


async def _registrable_missing(batch: _Batch, zone: Zone, name: str) -> str | None:
    """The registrable domain when DNS says it does not exist, else None. Only asked when
    the SOA walk ended above it, which is also normal under private suffixes such as
    github.io that serve their users' names without delegating them."""
    if not zone.found:
        return None
    registrable = public_suffix_list().privatesuffix(name)
    if not registrable or zone.name == registrable or zone.name.endswith("." + registrable):
        return None
    lookup = await batch.public(registrable, "SOA")
    return registrable if lookup.status == Status.NXDOMAIN else None


async def _check_one(
    batch: _Batch,
    record: ExpectedRecord,
    zone: Zone,
    siblings: frozenset[str] | None,
    missing_domain: str | None,
) -> RecordResult:
    if zone.found and not record.zone:
        record = record.in_zone(zone.name)
    if missing_domain:
        return domain_not_found(record, missing_domain)
    checker = _CHECKERS.get((record.type, record.purpose)) or _CHECKERS.get((record.type, None))
    if checker is None:
        raise ValueError(f"no check for a {record.type} record with purpose {record.purpose}")
    return await checker(batch, record, zone, siblings or frozenset())


# --- one checker per kind of record -------------------------------------------------------


async def _check_cname(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    public = await batch.public(record.name, "CNAME")
    first = classify_cname(record, CnameObservation(public, sibling_targets=siblings))
    if first.ok or public.is_transient:
        return first
    if public.found:  # a wrong value: is the right one already at the source?
        authoritative = await batch.maybe_authoritative(record.name, "CNAME", zone)
        observation = CnameObservation(
            public, authoritative=authoritative, sibling_targets=siblings
        )
        return classify_cname(record, observation)
    # What else is at the name (a wrong type, Cloudflare's proxy addresses), asked at once
    # when the name exists; a name missing publicly is first looked up at its source.
    others = [] if public.status == Status.NXDOMAIN else _other_types(batch, record.name)
    authoritative, doubled = await asyncio.gather(
        batch.maybe_authoritative(record.name, "CNAME", zone),
        _doubled(batch, record.name, "CNAME", zone),
    )
    if public.status == Status.NXDOMAIN and not _name_absent(authoritative):
        others = _other_types(batch, record.name)
    a, aaaa, txt, mx = await asyncio.gather(*others) if others else (None,) * 4
    observation = CnameObservation(
        public,
        authoritative=authoritative,
        doubled=doubled,
        addresses=(a, aaaa) if others else (),
        others=(txt, mx) if others else (),
        zone_nameservers=zone.nameservers,
        sibling_targets=siblings,
        negative_ttl=zone.soa_minimum,
    )
    return classify_cname(record, observation)


async def _check_token(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    public = await batch.public(record.name, "TXT")
    first = classify_txt_token(record, TxtObservation(public))
    if first.ok or public.is_transient:
        return first
    parent_name = record.name.split(".", 1)[1] if "." in record.name else None
    authoritative, doubled, parent = await asyncio.gather(
        batch.maybe_authoritative(record.name, "TXT", zone),
        _doubled(batch, record.name, "TXT", zone),
        batch.public(parent_name, "TXT") if parent_name else _none(),
    )
    observation = TxtObservation(
        public, authoritative, doubled, parent, negative_ttl=zone.soa_minimum
    )
    return classify_txt_token(record, observation)


async def _check_spf(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    txt = await batch.public(record.name, "TXT")
    spf = [v for v in (txt.values if txt.found else ()) if is_spf(v)]
    evaluation = await evaluate_spf(batch.public, spf[0], record.name) if len(spf) == 1 else None
    return classify_spf(record, txt, evaluation)


async def _check_dmarc(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    domain = record.name.removeprefix("_dmarc.")
    registrable = public_suffix_list().privatesuffix(domain)
    public, apex, organizational = await asyncio.gather(
        batch.public(record.name, "TXT"),
        batch.public(domain, "TXT"),
        batch.public(f"_dmarc.{registrable}", "TXT")
        if registrable and registrable != domain
        else _none(),
    )
    return classify_dmarc(record, DmarcObservation(public, apex, organizational))


async def _check_mx(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    public = await batch.public(record.name, "MX")
    first = classify_mail_from_mx(record, MxObservation(public))
    if first.ok or public.is_transient or public.via:
        return first
    cname, authoritative = await asyncio.gather(
        batch.public(record.name, "CNAME"), batch.maybe_authoritative(record.name, "MX", zone)
    )
    return classify_mail_from_mx(record, MxObservation(public, cname, authoritative))


async def _check_address(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    a, aaaa = await asyncio.gather(
        batch.public(record.name, "A"), batch.public(record.name, "AAAA")
    )
    observation = AddressObservation(a, aaaa, zone_nameservers=zone.nameservers)
    return classify_apex_address(record, observation)


async def _check_txt_value(
    batch: _Batch, record: ExpectedRecord, zone: Zone, siblings: frozenset[str]
) -> RecordResult:
    public = await batch.public(record.name, "TXT")
    first = classify_txt_value(record, TxtObservation(public))
    if first.ok or public.is_transient:
        return first
    # A CNAME in the TXT's place, asked at once when the name exists; a name missing
    # publicly is first looked up at its source.
    asked = None if public.status == Status.NXDOMAIN else batch.public(record.name, "CNAME")
    authoritative, doubled = await asyncio.gather(
        batch.maybe_authoritative(record.name, "TXT", zone),
        _doubled(batch, record.name, "TXT", zone),
    )
    if asked is None and not _name_absent(authoritative):
        asked = batch.public(record.name, "CNAME")
    cname = await asked if asked is not None else None
    observation = TxtObservation(
        public, authoritative, doubled, cname=cname, negative_ttl=zone.soa_minimum
    )
    return classify_txt_value(record, observation)


async def _none() -> None:
    return None


async def _doubled(batch: _Batch, name: str, rdtype: str, zone: Zone) -> Lookup | None:
    """`rdtype` at `<name>.<zone>`, where a panel that appends the zone puts a record
    entered with its full name. All such names lie below `<zone>.<zone>`: when that name
    does not exist, nothing below it does (RFC 8020), and one question (CNAME, which no
    chain can answer for) stands for every record of the zone."""
    if not zone.found:
        return None
    below = await batch.public(f"{zone.name}.{zone.name}", "CNAME")
    if below.status == Status.NXDOMAIN:
        return None
    return await batch.public(f"{name}.{zone.name}", rdtype)


def _other_types(batch: _Batch, name: str) -> list[Awaitable[Lookup]]:
    return [batch.public(name, rdtype) for rdtype in ("A", "AAAA", "TXT", "MX")]


def _name_absent(lookup: Lookup | None) -> bool:
    """The zone's own servers say the name itself does not exist (NXDOMAIN, and not for
    the end of a CNAME chain): nothing of any type is there (RFC 8020), so no question
    about the name can find anything."""
    return lookup is not None and lookup.status == Status.NXDOMAIN and lookup.via is None


Checker = Callable[[_Batch, ExpectedRecord, Zone, frozenset[str]], Awaitable[RecordResult]]
_CHECKERS: dict[tuple[str, str | None], Checker] = {
    ("CNAME", None): _check_cname,
    ("TXT", Purpose.VERIFICATION): _check_token,
    ("TXT", Purpose.SPF): _check_spf,
    ("TXT", Purpose.MAIL_FROM_SPF): _check_spf,
    ("TXT", Purpose.DMARC): _check_dmarc,
    ("TXT", None): _check_txt_value,
    ("MX", None): _check_mx,
    ("A", None): _check_address,
    ("AAAA", None): _check_address,
}


# --- SPF evaluation ---------------------------------------------------------------------


@dataclass
class _SpfWalk:
    lookups: int = 0
    void: int = 0
    transient: bool = False
    broken: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)


async def evaluate_spf(
    ask: Callable[[str, str], Awaitable[Lookup]], record: str, domain: str
) -> SpfEvaluation:
    """Counts the DNS-querying terms of an SPF record through its includes and redirect,
    and the void lookups among them (RFC 7208 4.6.4). Terms with macros (`%{i}`) are
    counted but not followed: their names depend on the message being checked."""
    walk = _SpfWalk()

    async def visit(text: str, current: str, depth: int, path: frozenset[str]) -> None:
        if depth > SPF_MAX_DEPTH:
            return
        terms = spf_terms(text)
        has_all = any(t.lower().lstrip("+-~?") == "all" for t in terms)
        for term in terms:
            bare = term.lstrip("+-~?").lower()
            if bare.startswith("redirect=") and has_all:
                continue  # ignored next to an `all` mechanism (RFC 7208 6.1)
            if bare.startswith(("include:", "redirect=")):
                walk.lookups += 1
                target = bare.split(":", 1)[1] if bare.startswith("include:") else bare[9:]
                target = target.rstrip(".")
                if "%" in target:
                    continue
                if target in path:
                    walk.loops.append(term)
                    continue
                txt = await ask(target, "TXT")
                if txt.is_transient:
                    walk.transient = True
                    continue
                if txt.absent:
                    walk.void += 1
                child = [v for v in (txt.values if txt.found else ()) if is_spf(v)]
                if len(child) != 1:
                    walk.broken.append(term)
                    continue
                await visit(child[0], target, depth + 1, path | {target})
            elif bare in ("a", "mx", "ptr") or bare.startswith(
                ("a:", "a/", "mx:", "mx/", "ptr:", "exists:")
            ):
                walk.lookups += 1
                if bare.startswith(("ptr", "exists:")):
                    continue  # counted; their answers depend on the connecting client
                name = bare.split(":", 1)[1].split("/", 1)[0] if ":" in bare else current
                if "%" in name:
                    continue
                answer = await ask(name.rstrip("."), "MX" if bare.startswith("mx") else "A")
                if answer.is_transient:
                    walk.transient = True
                elif answer.absent:
                    walk.void += 1

    await visit(record, domain, 0, frozenset({domain}))
    return SpfEvaluation(
        lookups=walk.lookups,
        void_lookups=walk.void,
        broken_includes=tuple(dict.fromkeys(walk.broken)),
        loops=tuple(dict.fromkeys(walk.loops)),
        transient=walk.transient,
    )
