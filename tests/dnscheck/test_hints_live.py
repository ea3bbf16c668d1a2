"""Every hint with a real record on a real server: Knot DNS on loopback, changed through
RFC 2136 updates the way a customer's DNS panel changes it."""

import asyncio
import socket
from collections.abc import Iterator

import pytest

from dnscheck.check import check_records, check_set
from dnscheck.records import ExpectedRecord, Outcome, Purpose, RecordResult
from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer, UnboundResolver


def check_one(resolver: DnsResolver, record: ExpectedRecord) -> RecordResult:
    return asyncio.run(check_records(resolver, [record]))[0]


def dkim(domain: str, token: str = "tok1") -> ExpectedRecord:
    return ExpectedRecord(
        "CNAME", f"{token}._domainkey.{domain}", f"{token}.dkim.amazonses.com", Purpose.DKIM
    )


@pytest.fixture
def domain(label: str) -> str:
    return f"mail.{label}.example.test"


# --- CNAME ---------------------------------------------------------------------------------


def test_ok(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    record = dkim(domain)
    knot.set(record.name, "CNAME", "tok1.dkim.amazonses.com.")

    result = check_one(resolver, record)

    assert (result.outcome, result.hint) == (Outcome.OK, None)
    assert result.record.zone == "example.test"
    assert result.record.host == f"tok1._domainkey.{domain.removesuffix('.example.test')}"


def test_not_found(resolver: DnsResolver, domain: str) -> None:
    result = check_one(resolver, dkim(domain))

    assert (result.outcome, result.hint) == (Outcome.MISSING, "not_found")
    assert "tok1.dkim.amazonses.com" in result.fix
    assert result.record.host in result.fix


def test_doubled_name(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    record = dkim(domain)
    knot.set(f"{record.name}.example.test", "CNAME", "tok1.dkim.amazonses.com.")

    result = check_one(resolver, record)

    assert result.hint == "doubled_name"
    assert f"`{result.record.host}`" in result.fix


def test_target_zone_appended(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    record = dkim(domain)
    knot.set(record.name, "CNAME", "tok1.dkim.amazonses.com.example.test.")

    result = check_one(resolver, record)

    assert result.hint == "target_zone_appended"
    assert result.seen_value == "tok1.dkim.amazonses.com.example.test"
    assert "`tok1.dkim.amazonses.com.`" in result.fix


def test_wrong_target(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    record = dkim(domain)
    knot.set(record.name, "CNAME", "elsewhere.example.net.")

    result = check_one(resolver, record)

    assert (result.outcome, result.hint) == (Outcome.MISMATCH, "wrong_target")
    assert result.seen_value == "elsewhere.example.net"


def test_swapped_tokens_are_named(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    first, second = dkim(domain, "tok1"), dkim(domain, "tok2")
    knot.set(first.name, "CNAME", "tok2.dkim.amazonses.com.")
    knot.set(second.name, "CNAME", "tok1.dkim.amazonses.com.")

    results = asyncio.run(check_records(resolver, [first, second]))

    assert [r.hint for r in results] == ["wrong_target", "wrong_target"]
    assert "swapped" in results[0].fix


def test_wrong_type(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    record = dkim(domain)
    knot.set(record.name, "TXT", '"tok1.dkim.amazonses.com"')

    result = check_one(resolver, record)

    assert result.hint == "wrong_type"
    assert "TXT" in result.fix


def test_cloudflare_proxy(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    record = dkim(domain)
    knot.set(record.name, "A", "104.16.132.229")
    knot.set(record.name, "AAAA", "2606:4700::6810:84e5")

    result = check_one(resolver, record)

    assert result.hint == "cloudflare_proxy"
    assert "DNS only" in result.fix


def test_wrong_dns_host(resolver: DnsResolver, label: str) -> None:
    records = [dkim(f"mail.{label}.cfhosted.test", t) for t in ("a1", "a2", "a3")]

    summary = asyncio.run(check_set(resolver, records))

    assert [r.hint for r in summary.results] == ["not_found"] * 3
    assert summary.hint == "wrong_dns_host"
    assert "Cloudflare (ada.ns.cloudflare.com, bob.ns.cloudflare.com)" in summary.fix


def test_partial(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    records = [dkim(domain, t) for t in ("p1", "p2", "p3")]
    knot.set(records[0].name, "CNAME", "p1.dkim.amazonses.com.")

    summary = asyncio.run(check_set(resolver, records))

    assert summary.hint == "partial"
    assert (summary.ok_count, summary.total) == (1, 3)


def test_dns_error_on_servfail(resolver: DnsResolver) -> None:
    result = check_one(resolver, dkim("mail.broken.test"))

    assert (result.outcome, result.hint) == (Outcome.ERROR, "dns_error")


@pytest.fixture
def silent_port() -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_dns_error_on_timeout(silent_port: int, domain: str) -> None:
    resolver = DnsResolver(ResolverConfig(nameservers=(("127.0.0.1", silent_port),), timeout=0.3))

    result = check_one(resolver, dkim(domain))

    assert (result.outcome, result.hint) == (Outcome.ERROR, "dns_error")


def test_domain_not_found(resolver: DnsResolver, label: str) -> None:
    result = check_one(resolver, dkim(f"mail.{label}-nosuch.test"))

    assert result.hint == "domain_not_found"
    assert f"{label}-nosuch.test" in result.fix


def test_propagating(knot: KnotServer, unbound: UnboundResolver, domain: str) -> None:
    resolver = DnsResolver(
        ResolverConfig(
            nameservers=(("127.0.0.1", unbound.port),), authoritative_port=knot.port, timeout=2
        )
    )
    record = dkim(domain)
    before = check_one(resolver, record)  # the resolver now caches the negative answer
    knot.set(record.name, "CNAME", "tok1.dkim.amazonses.com.")

    after = check_one(resolver, record)

    assert before.hint == "not_found"
    assert (after.outcome, after.hint) == (Outcome.MISSING, "propagating")
    assert "5 minutes" in after.fix  # the zone's SOA minimum, 300 s


# --- SPF, DMARC, MX ----------------------------------------------------------------------


def spf(domain: str) -> ExpectedRecord:
    return ExpectedRecord("TXT", domain, "v=spf1 include:amazonses.com ~all", Purpose.SPF)


def test_spf_ok_with_other_includes(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(domain, "TXT", '"v=spf1 ip4:192.0.2.0/24 include:amazonses.com -all"')

    assert check_one(resolver, spf(domain)).ok


def test_spf_multiple(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(domain, "TXT", '"v=spf1 include:amazonses.com ~all"', '"v=spf1 ip4:192.0.2.1 -all"')

    result = check_one(resolver, spf(domain))

    assert result.hint == "spf_multiple"
    assert result.suggested_value in (
        "v=spf1 include:amazonses.com ip4:192.0.2.1 ~all",
        "v=spf1 ip4:192.0.2.1 include:amazonses.com -all",
    )


def test_spf_include_missing(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(domain, "TXT", '"v=spf1 mx -all"')

    result = check_one(resolver, spf(domain))

    assert result.hint == "spf_include_missing"
    assert result.suggested_value == "v=spf1 mx include:amazonses.com -all"


def test_spf_too_many_lookups(
    resolver: DnsResolver, knot: KnotServer, domain: str, label: str
) -> None:
    helpers = [f"s{i}.{label}.example.test" for i in range(4)]
    for helper in helpers:
        knot.set(helper, "TXT", '"v=spf1 a mx ~all"')  # three lookups each with the include
    includes = " ".join(f"include:{h}" for h in helpers)
    knot.set(domain, "TXT", f'"v=spf1 include:amazonses.com {includes} ~all"')

    result = check_one(resolver, spf(domain))

    assert result.hint == "spf_too_many_lookups"
    assert "13 DNS lookups" in result.fix


def test_spf_include_broken(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(domain, "TXT", f'"v=spf1 include:amazonses.com include:gone.{domain} ~all"')

    result = check_one(resolver, spf(domain))

    assert result.hint == "spf_include_broken"


def test_txt_split_no_space(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(domain, "TXT", '"v=spf1 ip4:192.0.2.1" "include:amazonses.com ~all"')

    result = check_one(resolver, spf(domain))

    assert result.hint == "txt_split_no_space"


def dmarc(domain: str) -> ExpectedRecord:
    value = "v=DMARC1; p=none; rua=mailto:dmarc@example.test"
    return ExpectedRecord("TXT", f"_dmarc.{domain}", value, Purpose.DMARC)


def test_dmarc_missing(resolver: DnsResolver, domain: str) -> None:
    result = check_one(resolver, dmarc(domain))

    assert result.hint == "dmarc_missing"
    assert result.suggested_value == "v=DMARC1; p=none; rua=mailto:dmarc@example.test"


def test_dmarc_at_apex(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(domain, "TXT", '"v=DMARC1; p=reject"')

    assert check_one(resolver, dmarc(domain)).hint == "dmarc_at_apex"


def test_dmarc_ok(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(f"_dmarc.{domain}", "TXT", '"v=DMARC1; p=quarantine; rua=mailto:a@example.test"')

    result = check_one(resolver, dmarc(domain))

    assert (result.outcome, result.hint) == (Outcome.OK, None)


def mail_from(domain: str, region: str = "eu-west-1") -> ExpectedRecord:
    return ExpectedRecord(
        "MX", f"bounce.{domain}", f"10 feedback-smtp.{region}.amazonses.com", Purpose.MAIL_FROM_MX
    )


def test_mail_from_mx_wrong_region(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(f"bounce.{domain}", "MX", "10 feedback-smtp.us-east-1.amazonses.com.")

    result = check_one(resolver, mail_from(domain))

    assert result.hint == "mailfrom_mx_wrong_region"


def test_mail_from_cname_conflict(resolver: DnsResolver, knot: KnotServer, domain: str) -> None:
    knot.set(f"bounce.{domain}", "CNAME", "somewhere.example.net.")

    assert check_one(resolver, mail_from(domain)).hint == "mailfrom_cname_conflict"


# --- storefront ownership token --------------------------------------------------------

TOKEN = "9f1c0e7a4b2d4e8f9a0b1c2d3e4f5a6b"


def ownership(store: str) -> ExpectedRecord:
    return ExpectedRecord(
        "TXT", f"_sendy-verify.{store}", f"sendy-verify={TOKEN}", Purpose.VERIFICATION
    )


def test_token_ok(resolver: DnsResolver, knot: KnotServer, label: str) -> None:
    store = f"{label}.example.test"
    knot.set(f"_sendy-verify.{store}", "TXT", f'"sendy-verify={TOKEN}"', '"other=1"')

    assert check_one(resolver, ownership(store)).ok


def test_token_mismatch(resolver: DnsResolver, knot: KnotServer, label: str) -> None:
    store = f"{label}.example.test"
    knot.set(f"_sendy-verify.{store}", "TXT", '"sendy-verify=00000000000000000000000000000000"')

    result = check_one(resolver, ownership(store))

    assert result.hint == "token_mismatch"
    assert f"sendy-verify={TOKEN}" in result.fix


@pytest.mark.parametrize("published", [f'"{TOKEN}"', f'"\\"sendy-verify={TOKEN}\\""'])
def test_token_format(resolver: DnsResolver, knot: KnotServer, label: str, published: str) -> None:
    store = f"{label}.example.test"
    knot.set(f"_sendy-verify.{store}", "TXT", published)

    assert check_one(resolver, ownership(store)).hint == "token_format"


def test_token_at_apex(resolver: DnsResolver, knot: KnotServer, label: str) -> None:
    store = f"{label}.example.test"
    knot.set(store, "TXT", f'"sendy-verify={TOKEN}"')

    assert check_one(resolver, ownership(store)).hint == "token_at_apex"


def test_token_missing(resolver: DnsResolver, label: str) -> None:
    assert check_one(resolver, ownership(f"{label}.example.test")).hint == "token_missing"


def test_apex_routing_address(resolver: DnsResolver, knot: KnotServer, label: str) -> None:
    store = f"{label}.example.test"
    record = ExpectedRecord("A", store, "203.0.113.10", Purpose.ROUTING)
    knot.set(store, "A", "203.0.113.99")

    result = check_one(resolver, record)

    assert result.hint == "wrong_target"
    knot.set(store, "A", "203.0.113.10")
    assert check_one(resolver, record).ok


def test_own_dkim_txt_split_by_the_panel_still_matches(
    resolver: DnsResolver, knot: KnotServer, domain: str
) -> None:
    key = "v=DKIM1; k=rsa; p=" + "A" * 300
    record = ExpectedRecord("TXT", f"dk1._domainkey.{domain}", key, Purpose.DKIM)
    knot.set(record.name, "TXT", f'"{key[:255]}" "{key[255:]}"')

    assert check_one(resolver, record).ok
