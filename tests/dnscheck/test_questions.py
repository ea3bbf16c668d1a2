"""What a check asks, against the real server: questions whose answer is already known are
not asked, and what the hints rely on still is."""

import asyncio

from dnscheck.check import check_records
from dnscheck.records import ExpectedRecord, Purpose
from tests.dnscheck.conftest import SpyResolver


def local_records(domain: str) -> list[ExpectedRecord]:
    """The `local` provider's four records for `domain`."""
    return [
        ExpectedRecord("TXT", f"dk1._domainkey.{domain}", "v=DKIM1; k=rsa; p=KEY", Purpose.DKIM),
        ExpectedRecord("TXT", domain, "v=spf1 include:_spf.dk-service.test ~all", Purpose.SPF),
        ExpectedRecord("CNAME", f"bounces.{domain}", "return.dk-service.test", "return_path"),
        ExpectedRecord("TXT", f"_dmarc.{domain}", "v=DMARC1; p=none", Purpose.DMARC),
    ]


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
