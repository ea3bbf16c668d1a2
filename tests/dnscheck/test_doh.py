"""The DoH path against a stand-in that answers Cloudflare's JSON format from the real
test server."""

import asyncio
import json
from collections.abc import Iterator

import pytest

from dnscheck.lookup import Status, View
from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer
from tests.doh_server import DohServer


@pytest.fixture(scope="module")
def doh(knot: KnotServer) -> Iterator[DohServer]:
    server = DohServer(knot.port).start()
    yield server
    server.stop()


@pytest.fixture
def doh_resolver(doh: DohServer) -> Iterator[DnsResolver]:
    doh.override = None
    yield DnsResolver(ResolverConfig(doh_url=doh.url, timeout=2))
    doh.override = None


def ask(resolver: DnsResolver, name: str, rdtype: str):
    return asyncio.run(resolver.doh(name, rdtype))


def test_it_reads_records_and_sends_the_json_accept_header(
    doh_resolver: DnsResolver, doh: DohServer, knot: KnotServer, label: str
) -> None:
    name = f"{label}.example.test"
    knot.set(name, "TXT", '"v=spf1 include:amazonses.com" " ~all"')

    lookup = ask(doh_resolver, name, "TXT")

    assert lookup.view == View.DOH
    assert lookup.values == ("v=spf1 include:amazonses.com ~all",)
    assert doh.requests[-1] == {"name": name, "type": "TXT", "accept": "application/dns-json"}


def test_it_follows_a_chain_and_keeps_only_the_asked_name(
    doh_resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    knot.set(f"alias.{label}.example.test", "CNAME", f"real.{label}.example.test.")
    knot.set(f"real.{label}.example.test", "A", "192.0.2.7")

    cname = ask(doh_resolver, f"alias.{label}.example.test", "CNAME")
    address = ask(doh_resolver, f"alias.{label}.example.test", "A")

    assert cname.values == (f"real.{label}.example.test",)
    assert address.values == ("192.0.2.7",)


def test_statuses(doh_resolver: DnsResolver, label: str) -> None:
    assert ask(doh_resolver, f"nope.{label}.example.test", "A").status == Status.NXDOMAIN
    assert ask(doh_resolver, "example.test", "MX").status == Status.NODATA
    assert ask(doh_resolver, "www.broken.test", "A").status == Status.SERVFAIL


@pytest.mark.parametrize(
    ("override", "status"),
    [
        ((500, b"oops"), Status.ERROR),
        ((200, b"<html>"), Status.ERROR),
        ((200, b"[1, 2]"), Status.ERROR),
        ((200, json.dumps({"Status": 5}).encode()), Status.REFUSED),
        ((200, json.dumps({"Status": 0}).encode()), Status.NODATA),
        (
            (
                200,
                json.dumps(
                    {"Status": 0, "Answer": [{"name": "x"}, "junk", {"type": "A"}]}
                ).encode(),
            ),
            Status.NODATA,
        ),
    ],
)
def test_odd_replies_are_read_without_raising(
    doh_resolver: DnsResolver, doh: DohServer, override: tuple[int, bytes], status: Status
) -> None:
    doh.override = override

    lookup = ask(doh_resolver, "example.test", "A")

    assert lookup.status == status


def test_extra_keys_are_tolerated(doh_resolver: DnsResolver, doh: DohServer) -> None:
    body = {
        "Status": 0,
        "Extra": {"x": 1},
        "Answer": [{"name": "example.test.", "type": 1, "TTL": 5, "data": "192.0.2.9", "new": 1}],
    }
    doh.override = (200, json.dumps(body).encode())

    assert ask(doh_resolver, "example.test", "A").values == ("192.0.2.9",)


def test_an_unreachable_endpoint_is_transient() -> None:
    resolver = DnsResolver(ResolverConfig(doh_url="http://127.0.0.1:9/dns-query", timeout=0.5))

    lookup = asyncio.run(resolver.doh("example.test", "A"))

    assert lookup.is_transient
