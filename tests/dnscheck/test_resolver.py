"""The resolver seam against a real server: every status is told apart."""

import asyncio
import socket
from collections.abc import Iterator

import pytest

from dnscheck.lookup import Status, View
from dnscheck.resolver import DnsResolver, ResolverConfig, parse_nameservers
from tests.dns_server import KnotServer


def run(coro):
    return asyncio.run(coro)


def test_it_reads_records_of_each_type(resolver: DnsResolver, knot: KnotServer, label: str) -> None:
    name = f"{label}.example.test"
    knot.set(name, "TXT", '"v=spf1 include:amazonses.com" " ~all"')
    knot.set(f"c.{name}", "CNAME", "Target.Amazonses.COM.")
    knot.set(name, "MX", "10 Feedback-SMTP.us-east-1.amazonses.com.")

    txt = run(resolver.public(name, "TXT"))
    cname = run(resolver.public(f"C.{name}.", "CNAME"))
    mx = run(resolver.public(name, "MX"))

    assert txt.status == Status.NOERROR
    assert txt.values == ("v=spf1 include:amazonses.com ~all",)
    assert txt.txt_strings == (("v=spf1 include:amazonses.com", " ~all"),)
    assert cname.values == ("target.amazonses.com",)
    assert mx.values == ("10 feedback-smtp.us-east-1.amazonses.com",)


def test_nxdomain_and_nodata_are_evidence(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    knot.set(f"{label}.example.test", "A", "192.0.2.1")

    nx = run(resolver.public(f"nope.{label}.example.test", "TXT"))
    nodata = run(resolver.public(f"{label}.example.test", "TXT"))

    assert nx.status == Status.NXDOMAIN
    assert nodata.status == Status.NODATA
    assert nx.is_evidence and nodata.is_evidence
    assert nx.absent and nodata.absent


def test_servfail_is_transient(resolver: DnsResolver) -> None:
    lookup = run(resolver.public("www.broken.test", "A"))

    assert lookup.status == Status.SERVFAIL
    assert lookup.is_transient


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A UDP port that takes queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_a_silent_server_is_a_timeout(silent_server: int) -> None:
    resolver = DnsResolver(ResolverConfig(nameservers=(("127.0.0.1", silent_server),), timeout=0.3))

    lookup = run(resolver.public("example.test", "A"))

    assert lookup.status == Status.TIMEOUT
    assert lookup.is_transient


def test_the_zone_and_its_servers_are_found(resolver: DnsResolver, knot: KnotServer) -> None:
    zone = run(resolver.zone_for("a.b.example.test"))

    assert zone.found
    assert zone.name == "example.test"
    assert zone.nameservers == ("ns1.example.test",)
    assert zone.addresses == ("127.0.0.1",)
    assert zone.soa_minimum == 300


def test_the_authoritative_view_asks_the_zone_servers(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    name = f"sel._domainkey.{label}.example.test"
    knot.set(name, "CNAME", "sel.dkim.amazonses.com.")

    lookup = run(resolver.authoritative(name, "CNAME"))
    missing = run(resolver.authoritative(f"x.{label}.example.test", "CNAME"))

    assert lookup.view == View.AUTHORITATIVE
    assert lookup.values == ("sel.dkim.amazonses.com",)
    assert missing.status == Status.NXDOMAIN


def test_the_authoritative_view_of_a_broken_zone_is_transient(resolver: DnsResolver) -> None:
    lookup = run(resolver.authoritative("www.broken.test", "A"))

    assert lookup.is_transient


def test_a_txt_query_follows_a_cname_chain(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    knot.set(f"alias.{label}.example.test", "CNAME", f"real.{label}.example.test.")
    knot.set(f"real.{label}.example.test", "TXT", '"hello"')

    lookup = run(resolver.public(f"alias.{label}.example.test", "TXT"))

    assert lookup.values == ("hello",)
    assert "CNAME" in lookup.detail


def test_parse_nameservers() -> None:
    assert parse_nameservers("1.1.1.1, 9.9.9.9:5353,[::1]:53, ::1") == (
        ("1.1.1.1", 53),
        ("9.9.9.9", 5353),
        ("::1", 53),
        ("::1", 53),
    )
    assert parse_nameservers("") == ()


def test_the_zone_cache_forgets_what_expired_and_stays_bounded(
    resolver: DnsResolver, monkeypatch
) -> None:
    import time

    from dnscheck import resolver as module

    monkeypatch.setattr(module, "ZONE_CACHE_MAX", 10)
    run(resolver.zone_for("fresh.example.test"))
    stale = time.monotonic() - 1
    resolver._zones |= {f"old{i}.example.test": (stale, None) for i in range(9)}

    run(resolver.zone_for("next.example.test"))  # over the bound: the expired ones go
    assert not any(name.startswith("old") for name in resolver._zones)
    assert {"fresh.example.test", "next.example.test", "example.test"} <= set(resolver._zones)

    live = time.monotonic() + 60
    resolver._zones |= {f"live{i}.example.test": (live, None) for i in range(10)}
    run(resolver.zone_for("last.example.test"))  # still too many after that: all go
    assert set(resolver._zones) == {"last.example.test", "example.test"}
