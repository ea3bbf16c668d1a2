"""Cases found in review: each was wrong once, against the live server or by construction."""

import asyncio
import threading

import pytest

from dnscheck.check import check_records, check_records_blocking, check_set
from dnscheck.classify import (
    DmarcObservation,
    MxObservation,
    _split_without_space,
    classify_dmarc,
    classify_mail_from_mx,
    classify_spf,
    merge_spf,
)
from dnscheck.lookup import Lookup, Status, View
from dnscheck.names import DomainNameError, normalize_domain
from dnscheck.records import ExpectedRecord, Outcome, Purpose
from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer, UnboundResolver, free_port


def dkim(domain: str, token: str = "tok1") -> ExpectedRecord:
    return ExpectedRecord(
        "CNAME", f"{token}._domainkey.{domain}", f"{token}.dkim.amazonses.com", Purpose.DKIM
    )


def one(resolver: DnsResolver, record: ExpectedRecord):
    return asyncio.run(check_records(resolver, [record]))[0]


# --- the seam never raises ---------------------------------------------------------------


def test_one_resolver_serves_several_threads(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    records = [dkim(f"mail.{label}.example.test", f"t{i}") for i in range(3)]
    for record in records:
        knot.set(record.name, "CNAME", record.value + ".")
    outcomes: list = []
    errors: list = []

    def work() -> None:
        try:
            outcomes.append([r.ok for r in check_records_blocking(resolver, records)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert outcomes == [[True, True, True]] * 4


@pytest.mark.parametrize(
    "body",
    [
        {"Status": [0]},
        {"Status": {}},
        {"Status": True},
        {"Status": 0, "Answer": 5},
        {"Status": 0, "Answer": True},
        {
            "Status": 0,
            "Answer": [
                {"name": "x.", "type": 46, "TTL": 1, "data": "A 8 2 300 1 1 1 x. AA=="},
                {"name": "x.", "type": 46, "TTL": 1, "data": "MX 8 2 300 1 1 1 x. AA=="},
            ],
        },
    ],
)
def test_no_doh_reply_makes_it_raise(body: dict) -> None:
    lookup = DnsResolver._lookup_from_doh("example.test", "A", body)

    assert isinstance(lookup, Lookup)


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [("a" * 64 + ".test", "A"), ("example.test", "FOO"), ("bad\udcff.test", "A")],
)
def test_questions_dnspython_cannot_ask_are_errors(
    resolver: DnsResolver, name: str, rdtype: str
) -> None:
    for ask in (resolver.public, resolver.authoritative, resolver.doh):
        lookup = asyncio.run(ask(name, rdtype))
        assert lookup.status == Status.ERROR


def test_aaaa_and_single_label_records_are_checked_not_crashed(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    store = f"{label}.example.test"
    knot.set(store, "AAAA", "2001:db8::10")

    aaaa = one(resolver, ExpectedRecord("AAAA", store, "2001:db8::10", Purpose.ROUTING))
    token = one(
        resolver, ExpectedRecord("TXT", "localhost", "sendy-verify=x", Purpose.VERIFICATION)
    )

    assert aaaa.ok
    assert token.outcome in (Outcome.MISSING, Outcome.ERROR)


# --- domains under private suffixes -------------------------------------------------------


def test_a_live_domain_under_a_private_suffix_exists(resolver: DnsResolver) -> None:
    result = one(resolver, ExpectedRecord("A", "acme.github.io", "192.0.2.80", Purpose.ROUTING))

    assert result.ok


def test_a_missing_domain_under_a_private_suffix_does_not(resolver: DnsResolver) -> None:
    result = one(resolver, ExpectedRecord("A", "nobody.github.io", "192.0.2.80", Purpose.ROUTING))

    assert result.hint == "domain_not_found"


# --- the source decides first -------------------------------------------------------------


def test_a_fix_already_published_is_propagating_not_wrong_type(
    knot: KnotServer, unbound: UnboundResolver, label: str
) -> None:
    resolver = DnsResolver(
        ResolverConfig(nameservers=(("127.0.0.1", unbound.port),), authoritative_port=knot.port)
    )
    record = dkim(f"mail.{label}.example.test")
    knot.set(record.name, "A", "192.0.2.1", ttl=300)
    before = one(resolver, record)  # the resolver caches the A record and the CNAME miss
    knot.delete(record.name, "A")
    knot.set(record.name, "CNAME", record.value + ".")

    after = one(resolver, record)

    assert before.hint == "wrong_type"
    assert after.hint == "propagating"


def test_a_stale_wrong_value_fixed_at_the_source_is_propagating(
    knot: KnotServer, unbound: UnboundResolver, label: str
) -> None:
    resolver = DnsResolver(
        ResolverConfig(nameservers=(("127.0.0.1", unbound.port),), authoritative_port=knot.port)
    )
    record = dkim(f"mail.{label}.example.test")
    knot.set(record.name, "CNAME", "typo.dkim.amazonses.com.", ttl=600)
    assert one(resolver, record).hint == "wrong_target"
    knot.set(record.name, "CNAME", record.value + ".", ttl=600)

    after = one(resolver, record)

    assert after.hint == "propagating"
    assert "old value" in after.fix


def test_wrong_dns_host_needs_the_nameservers_to_have_been_asked(
    knot: KnotServer, label: str
) -> None:
    dead = DnsResolver(
        ResolverConfig(
            nameservers=(("127.0.0.1", knot.port),), authoritative_port=free_port(), timeout=0.5
        )
    )

    summary = asyncio.run(check_set(dead, [dkim(f"mail.{label}.cfhosted.test")]))

    assert summary.hint == "not_found"


# --- SPF ---------------------------------------------------------------------------------


def spf(domain: str) -> ExpectedRecord:
    return ExpectedRecord("TXT", domain, "v=spf1 include:amazonses.com ~all", Purpose.SPF)


@pytest.mark.parametrize(
    ("published", "hint"),
    [
        ("v=spf1 include:amazonses.com include:www.broken.test ~all", "dns_error"),
        ("v=spf1 include:amazonses.com include:{loop} ~all", "spf_include_broken"),
        (
            "v=spf1 include:amazonses.com include:%{{ir}}.%{{v}}.%{{d}}.spf.has.pphosted.com ~all",
            None,
        ),
        ("v=spf1 include:amazonses.com redirect=gone.{domain} ~all", None),
        ("v=spf1 +include:AMAZONSES.COM. ~all", None),
    ],
)
def test_spf_walk(
    resolver: DnsResolver, knot: KnotServer, label: str, published: str, hint: str | None
) -> None:
    domain = f"mail.{label}.example.test"
    loop = f"loop.{label}.example.test"
    knot.set(loop, "TXT", f'"v=spf1 include:{domain} ~all"')
    knot.set(domain, "TXT", '"' + published.format(loop=loop, domain=domain) + '"')

    assert one(resolver, spf(domain)).hint == hint


def test_merging_turns_a_redirect_into_an_include() -> None:
    merged = merge_spf(
        ["v=spf1 redirect=_spf.acme.com", "v=spf1 mx -all"], ["include:amazonses.com"]
    )

    assert merged == "v=spf1 include:_spf.acme.com mx include:amazonses.com -all"


@pytest.mark.parametrize(
    ("strings", "split"),
    [
        (("v=spf1 include:amazonses.com -", "all"), False),
        (("v=spf1 include:", "mx.example.net ~all"), False),
        (("v=spf1 ip4:192.0.2.1", "include:amazonses.com ~all"), True),
        (("v=spf1 mx", "include:amazonses.com ~all"), True),
        (("v=spf1 mx ", "include:amazonses.com ~all"), False),
    ],
)
def test_split_strings(strings: tuple[str, ...], split: bool) -> None:
    assert _split_without_space(strings) is split


def test_spf_with_a_differently_written_include_is_fine() -> None:
    record = spf("acme.com")
    txt = Lookup(
        "acme.com",
        "TXT",
        View.PUBLIC,
        Status.NOERROR,
        values=("v=spf1 +include:Amazonses.com. -all",),
    )

    assert classify_spf(record, txt).ok


# --- DMARC and MX ----------------------------------------------------------------------

DMARC = ExpectedRecord("TXT", "_dmarc.mail.acme.com", "v=DMARC1; p=none", Purpose.DMARC, "acme.com")


def _txt(name: str, *values: str, status: Status = Status.NOERROR) -> Lookup:
    return Lookup(name, "TXT", View.PUBLIC, status, values=values)


def test_dmarc_with_literal_quotes() -> None:
    obs = DmarcObservation(_txt(DMARC.name, '"v=DMARC1; p=reject"'))

    assert classify_dmarc(DMARC, obs).hint == "literal_quotes"


def test_dmarc_organizational_failure_is_not_missing() -> None:
    obs = DmarcObservation(
        _txt(DMARC.name, status=Status.NXDOMAIN),
        organizational=_txt("_dmarc.acme.com", status=Status.SERVFAIL),
    )

    assert classify_dmarc(DMARC, obs).hint == "dns_error"


def test_dmarc_inherited_subdomain_policy_applies() -> None:
    obs = DmarcObservation(
        _txt(DMARC.name, status=Status.NXDOMAIN),
        organizational=_txt("_dmarc.acme.com", "v=DMARC1; p=reject; sp=none"),
    )

    assert classify_dmarc(DMARC, obs).hint == "dmarc_policy_none"


def test_mail_from_behind_a_cname_is_a_conflict_even_when_the_target_has_mx(
    resolver: DnsResolver, knot: KnotServer, label: str
) -> None:
    domain = f"mail.{label}.example.test"
    knot.set(f"bounce.{domain}", "CNAME", f"elsewhere.{label}.example.test.")
    knot.set(f"elsewhere.{label}.example.test", "MX", "10 mx.example.net.")
    record = ExpectedRecord(
        "MX", f"bounce.{domain}", "10 feedback-smtp.us-east-1.amazonses.com", Purpose.MAIL_FROM_MX
    )

    assert one(resolver, record).hint == "mailfrom_cname_conflict"


def test_mx_classifier_reads_the_chain() -> None:
    record = ExpectedRecord(
        "MX", "bounce.acme.com", "10 feedback-smtp.us-east-1.amazonses.com", Purpose.MAIL_FROM_MX
    )
    via = Lookup(
        "bounce.acme.com",
        "MX",
        View.PUBLIC,
        Status.NOERROR,
        values=("10 mx.example.net",),
        via="x.example.net",
    )

    assert classify_mail_from_mx(record, MxObservation(via)).hint == "mailfrom_cname_conflict"


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["example.com\u3002", "example.com\uff0e", "example.com.."])
def test_odd_final_dots(raw: str) -> None:
    try:
        name = normalize_domain(raw)
    except DomainNameError as refusal:
        assert refusal.code == "INVALID_DOMAIN"
    else:
        assert name.ascii == "example.com"
