"""What a check asks, against the real server: questions whose answer is already known are
not asked, and what the hints rely on still is."""

import asyncio

import pytest

from dnscheck.check import check_records
from dnscheck.lookup import Status, View
from dnscheck.records import ExpectedRecord, Outcome, Purpose
from dnscheck.resolver import ResolverConfig
from tests.dns_server import KnotServer, UnboundResolver
from tests.dnscheck.conftest import SpyResolver


def local_records(domain: str) -> list[ExpectedRecord]:
    """The `local` provider's four records for `domain`."""
    return [
        ExpectedRecord("TXT", f"dk1._domainkey.{domain}", "v=DKIM1; k=rsa; p=KEY", Purpose.DKIM),
        ExpectedRecord("TXT", domain, "v=spf1 include:_spf.dk-service.test ~all", Purpose.SPF),
        ExpectedRecord("CNAME", f"bounces.{domain}", "return.dk-service.test", "return_path"),
        ExpectedRecord("TXT", f"_dmarc.{domain}", "v=DMARC1; p=none", Purpose.DMARC),
    ]


def asked_at(spy: SpyResolver, name: str) -> set[str]:
    return {rdtype for asked, rdtype in spy.asked if asked == name}


# --- the zone ------------------------------------------------------------------------------


def test_names_of_one_zone_walked_at_once_ask_for_its_servers_once(
    spy: SpyResolver, label: str
) -> None:
    async def walk() -> list:
        names = (f"d{i}.{label}.example.test" for i in range(20))
        return await asyncio.gather(*(spy.zone_for(name) for name in names))

    zones = asyncio.run(walk())

    assert {zone.name for zone in zones} == {"example.test"}
    assert spy.asked.count(("example.test", "NS")) == 1
    assert spy.asked.count(("ns1.example.test", "A")) == 1


def test_a_domains_records_cost_one_zone_walk(spy: SpyResolver, label: str) -> None:
    domains = [f"d{i}.{label}.example.test" for i in range(3)]

    results = asyncio.run(check_records(spy, [r for d in domains for r in local_records(d)]))

    assert sorted(spy.walked) == sorted(f"bounces.{d}" for d in domains)
    assert {r.record.zone for r in results} == {"example.test"}
    assert results[1].record.host == f"d0.{label}"


def test_a_name_above_another_zones_apex_is_walked_itself(spy: SpyResolver, label: str) -> None:
    records = [
        ExpectedRecord("TXT", "test", "v=spf1 -all", Purpose.SPF),
        ExpectedRecord("CNAME", f"{label}.example.test", "return.dk-service.test", "return_path"),
    ]

    results = asyncio.run(check_records(spy, records))

    assert [r.record.zone for r in results] == ["test", "example.test"]
    assert sorted(spy.walked) == sorted(["test", f"{label}.example.test"])


# --- a name that does not exist -----------------------------------------------------------


def _bounces_cname(label: str) -> ExpectedRecord:
    return ExpectedRecord("CNAME", f"bounces.{label}.example.test", "return.dk-service.test", "")


@pytest.mark.parametrize(
    ("make_record", "asked"),
    [
        (_bounces_cname, {"CNAME"}),  # not for A, AAAA, TXT or MX
        (lambda label: local_records(f"{label}.example.test")[0], {"TXT"}),  # not for a CNAME
    ],
    ids=["cname", "txt"],
)
def test_a_record_missing_everywhere_is_not_asked_for_other_types(
    spy: SpyResolver, label: str, make_record, asked: set[str]
) -> None:
    record = make_record(label)

    result = asyncio.run(check_records(spy, [record]))[0]

    assert (result.outcome, result.hint) == (Outcome.MISSING, "not_found")
    assert result.absent_at_source
    assert asked_at(spy, record.name) == asked


def test_a_name_the_source_has_is_asked_for_other_types(
    knot: KnotServer, unbound: UnboundResolver, label: str
) -> None:
    spy = SpyResolver(
        ResolverConfig(nameservers=(("127.0.0.1", unbound.port),), authoritative_port=knot.port)
    )
    record = _bounces_cname(label)
    before = asyncio.run(check_records(spy, [record]))[0]  # the resolver caches the miss
    asked_before = asked_at(spy, record.name)
    knot.set(record.name, "A", "192.0.2.1")
    spy.asked.clear()

    after = asyncio.run(check_records(spy, [record]))[0]

    assert before.hint == "not_found"
    assert asked_before == {"CNAME"}
    assert after.hint == "wrong_type"
    assert "A 192.0.2.1" in (after.seen_value or "")
    assert asked_at(spy, record.name) == {"CNAME", "A", "AAAA", "TXT", "MX"}


def test_a_txt_name_that_is_an_alias_of_a_missing_name_is_wrong_type(
    spy: SpyResolver, knot: KnotServer, label: str
) -> None:
    record = local_records(f"{label}.example.test")[0]
    knot.set(record.name, "CNAME", f"gone.{label}.example.test.")

    result = asyncio.run(check_records(spy, [record]))[0]

    assert result.hint == "wrong_type"
    assert result.seen_value == f"gone.{label}.example.test"


def test_an_nxdomain_at_the_end_of_a_chain_names_the_chain(
    spy: SpyResolver, knot: KnotServer, label: str
) -> None:
    knot.set(f"alias.{label}.example.test", "CNAME", f"gone.{label}.example.test.")

    alias = asyncio.run(spy.authoritative(f"alias.{label}.example.test", "TXT"))
    gone = asyncio.run(spy.authoritative(f"gone.{label}.example.test", "TXT"))

    assert (alias.status, alias.via) == (Status.NXDOMAIN, f"gone.{label}.example.test")
    assert (gone.status, gone.via, gone.view) == (Status.NXDOMAIN, None, View.AUTHORITATIVE)


def test_a_zone_without_doubled_names_answers_for_all_its_records_at_once(
    spy: SpyResolver, label: str
) -> None:
    # No test publishes under cfhosted.test.cfhosted.test; example.test.example.test exists
    # once a doubled-name test ran (see test_hints_live's test_doubled_name, still found).
    names = [f"bounces.d{i}.{label}.cfhosted.test" for i in range(3)]
    records = [ExpectedRecord("CNAME", n, "return.dk-service.test", "") for n in names]

    results = asyncio.run(check_records(spy, records))

    assert [r.hint for r in results] == ["not_found"] * 3
    assert spy.asked.count(("cfhosted.test.cfhosted.test", "CNAME")) == 1
    assert not [name for name, _ in spy.asked if name.endswith(".cfhosted.test.cfhosted.test")]
