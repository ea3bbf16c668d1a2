"""Each classifier from recorded observations: pure functions, no DNS."""

import pytest

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
    dmarc_problems,
    merge_spf,
    spf_with_terms,
    summarise,
)
from dnscheck.lookup import Lookup, Status, View
from dnscheck.records import ExpectedRecord, Outcome, Purpose

ZONE = "acme.com"
DKIM = ExpectedRecord(
    "CNAME", "t1._domainkey.mail.acme.com", "t1.dkim.amazonses.com", Purpose.DKIM, ZONE
)


def seen(name: str, rdtype: str, *values: str, view: View = View.PUBLIC) -> Lookup:
    return Lookup(name, rdtype, view, Status.NOERROR, values=values)


def nodata(name: str, rdtype: str, view: View = View.PUBLIC) -> Lookup:
    return Lookup(name, rdtype, view, Status.NODATA)


def nxdomain(name: str, rdtype: str, view: View = View.PUBLIC) -> Lookup:
    return Lookup(name, rdtype, view, Status.NXDOMAIN)


def failed(name: str, rdtype: str, status: Status = Status.SERVFAIL) -> Lookup:
    return Lookup(name, rdtype, View.PUBLIC, status, detail="upstream failed")


# --- CNAME ----------------------------------------------------------------------------


def test_cname_ok() -> None:
    result = classify_cname(
        DKIM, CnameObservation(seen(DKIM.name, "CNAME", "t1.dkim.amazonses.com"))
    )

    assert (result.outcome, result.hint, result.seen_value) == (
        Outcome.OK,
        None,
        "t1.dkim.amazonses.com",
    )


def test_cname_host_is_relative_to_the_zone() -> None:
    assert DKIM.host == "t1._domainkey.mail"


def test_cname_not_found_tells_host_and_value() -> None:
    result = classify_cname(DKIM, CnameObservation(nxdomain(DKIM.name, "CNAME")))

    assert result.hint == "not_found"
    assert result.fix == (
        "Add a CNAME record with host `t1._domainkey.mail` and value `t1.dkim.amazonses.com`."
    )


@pytest.mark.parametrize("status", [Status.SERVFAIL, Status.REFUSED, Status.TIMEOUT, Status.ERROR])
def test_cname_transient_failure_is_dns_error_never_missing(status: Status) -> None:
    result = classify_cname(DKIM, CnameObservation(failed(DKIM.name, "CNAME", status)))

    assert (result.outcome, result.hint) == (Outcome.ERROR, "dns_error")


def test_cname_doubled_name() -> None:
    obs = CnameObservation(
        nxdomain(DKIM.name, "CNAME"),
        doubled=seen(f"{DKIM.name}.acme.com", "CNAME", "t1.dkim.amazonses.com"),
    )

    result = classify_cname(DKIM, obs)

    assert result.hint == "doubled_name"
    assert "t1._domainkey.mail.acme.com.acme.com" in result.fix


def test_cname_target_zone_appended() -> None:
    obs = CnameObservation(seen(DKIM.name, "CNAME", "t1.dkim.amazonses.com.acme.com"))

    result = classify_cname(DKIM, obs)

    assert result.hint == "target_zone_appended"
    assert "`t1.dkim.amazonses.com.`" in result.fix


def test_cname_wrong_target_and_swapped_sibling() -> None:
    other = seen(DKIM.name, "CNAME", "t2.dkim.amazonses.com")

    plain = classify_cname(DKIM, CnameObservation(other))
    swapped = classify_cname(
        DKIM, CnameObservation(other, sibling_targets=frozenset({"t2.dkim.amazonses.com"}))
    )

    assert plain.hint == swapped.hint == "wrong_target"
    assert "swapped" not in plain.fix
    assert "swapped" in swapped.fix


def test_cname_wrong_type() -> None:
    obs = CnameObservation(
        nodata(DKIM.name, "CNAME"),
        addresses=(seen(DKIM.name, "A", "192.0.2.1"), nodata(DKIM.name, "AAAA")),
    )

    result = classify_cname(DKIM, obs)

    assert result.hint == "wrong_type"
    assert result.seen_value == "A 192.0.2.1"


def test_cname_conflict_with_several_cnames() -> None:
    obs = CnameObservation(seen(DKIM.name, "CNAME", "t1.dkim.amazonses.com", "x.example.net"))

    assert classify_cname(DKIM, obs).hint == "cname_conflict"


def test_cname_behind_cloudflare_proxy() -> None:
    obs = CnameObservation(
        nodata(DKIM.name, "CNAME"),
        addresses=(seen(DKIM.name, "A", "104.21.3.4", "172.67.1.1"),),
        zone_nameservers=("ada.ns.cloudflare.com",),
    )

    result = classify_cname(DKIM, obs)

    assert result.hint == "cloudflare_proxy"
    assert result.detail == "zone served by Cloudflare"


def test_addresses_outside_cloudflare_are_a_wrong_type_not_a_proxy() -> None:
    obs = CnameObservation(
        nodata(DKIM.name, "CNAME"), addresses=(seen(DKIM.name, "A", "104.21.3.4", "8.8.8.8"),)
    )

    assert classify_cname(DKIM, obs).hint == "wrong_type"


def test_cname_propagating_when_only_the_authoritative_view_has_it() -> None:
    obs = CnameObservation(
        nxdomain(DKIM.name, "CNAME"),
        authoritative=seen(DKIM.name, "CNAME", "t1.dkim.amazonses.com", view=View.AUTHORITATIVE),
        negative_ttl=3600,
    )

    result = classify_cname(DKIM, obs)

    assert (result.outcome, result.hint) == (Outcome.MISSING, "propagating")
    assert "60 minutes" in result.fix


def test_cname_wrong_at_the_source_is_not_propagating() -> None:
    obs = CnameObservation(
        nxdomain(DKIM.name, "CNAME"),
        authoritative=seen(DKIM.name, "CNAME", "typo.dkim.amazonses.com", view=View.AUTHORITATIVE),
    )

    assert classify_cname(DKIM, obs).hint == "wrong_target"


# --- TXT token ---------------------------------------------------------------------------

TOKEN = "9f1c0e7a4b2d4e8f9a0b1c2d3e4f5a6b"
OWNERSHIP = ExpectedRecord(
    "TXT", "_sendy-verify.mystore.com", f"sendy-verify={TOKEN}", Purpose.VERIFICATION, "mystore.com"
)


@pytest.mark.parametrize(
    ("published", "hint"),
    [
        ((f"sendy-verify={TOKEN}",), None),
        (("google-site-verification=x", f"sendy-verify={TOKEN}"), None),
        ((f'"sendy-verify={TOKEN}"',), "token_format"),
        ((TOKEN,), "token_format"),
        (("sendy-verify=0123456789abcdef0123456789abcdef",), "token_mismatch"),
        (("unrelated",), "token_missing"),
    ],
)
def test_token(published: tuple[str, ...], hint: str | None) -> None:
    result = classify_txt_token(OWNERSHIP, TxtObservation(seen(OWNERSHIP.name, "TXT", *published)))

    assert result.hint == hint


def test_token_at_apex_and_doubled_and_propagating() -> None:
    base = nxdomain(OWNERSHIP.name, "TXT")
    at_apex = TxtObservation(base, parent=seen("mystore.com", "TXT", f"sendy-verify={TOKEN}"))
    doubled = TxtObservation(
        base, doubled=seen(f"{OWNERSHIP.name}.mystore.com", "TXT", f"sendy-verify={TOKEN}")
    )
    propagating = TxtObservation(
        base, authoritative=seen(OWNERSHIP.name, "TXT", f"sendy-verify={TOKEN}")
    )

    assert classify_txt_token(OWNERSHIP, at_apex).hint == "token_at_apex"
    assert classify_txt_token(OWNERSHIP, doubled).hint == "doubled_name"
    assert classify_txt_token(OWNERSHIP, propagating).hint == "propagating"
    assert OWNERSHIP.host == "_sendy-verify"


def test_token_transient() -> None:
    result = classify_txt_token(OWNERSHIP, TxtObservation(failed(OWNERSHIP.name, "TXT")))

    assert result.outcome == Outcome.ERROR


# --- TXT exact value (own DKIM) ------------------------------------------------------------

KEY = ExpectedRecord(
    "TXT", "dk1._domainkey.mail.acme.com", "v=DKIM1; k=rsa; p=MIIBIjAN", Purpose.DKIM, ZONE
)


@pytest.mark.parametrize(
    ("published", "hint"),
    [
        ("v=DKIM1; k=rsa; p=MIIBIjAN", None),
        ("v=DKIM1;k=rsa;p=MIIBIjAN", None),
        ('"v=DKIM1; k=rsa; p=MIIBIjAN"', "literal_quotes"),
        ("v=DKIM1; k=rsa; p=OLDKEY", "wrong_value"),
        ("v=DKIM1; k=rsa; p=MIIB", "value_truncated"),
    ],
)
def test_txt_value(published: str, hint: str | None) -> None:
    result = classify_txt_value(KEY, TxtObservation(seen(KEY.name, "TXT", published)))

    assert result.hint == hint


def test_txt_value_where_a_cname_stands() -> None:
    obs = TxtObservation(nodata(KEY.name, "TXT"), cname=seen(KEY.name, "CNAME", "x.example.net"))

    assert classify_txt_value(KEY, obs).hint == "wrong_type"


# --- SPF ---------------------------------------------------------------------------------

SPF = ExpectedRecord("TXT", "mail.acme.com", "v=spf1 include:amazonses.com ~all", Purpose.SPF, ZONE)


def spf_lookup(*values: str, strings: tuple[tuple[str, ...], ...] = ()) -> Lookup:
    return Lookup(SPF.name, "TXT", View.PUBLIC, Status.NOERROR, values=values, txt_strings=strings)


def test_spf_missing_suggests_the_record() -> None:
    result = classify_spf(SPF, nodata(SPF.name, "TXT"))

    assert result.hint == "spf_missing"
    assert result.suggested_value == "v=spf1 include:amazonses.com ~all"


def test_spf_missing_among_other_txt() -> None:
    assert classify_spf(SPF, spf_lookup("google-site-verification=x")).hint == "spf_missing"


def test_spf_multiple_offers_one_merged_record() -> None:
    result = classify_spf(SPF, spf_lookup("v=spf1 include:_spf.google.com ~all", "v=spf1 mx -all"))

    assert result.hint == "spf_multiple"
    assert result.suggested_value == "v=spf1 include:_spf.google.com mx include:amazonses.com ~all"


def test_spf_include_missing_inserts_before_all() -> None:
    result = classify_spf(SPF, spf_lookup("v=spf1 include:_spf.google.com -all"))

    assert result.hint == "spf_include_missing"
    assert result.suggested_value == "v=spf1 include:_spf.google.com include:amazonses.com -all"


def test_spf_literal_quotes() -> None:
    result = classify_spf(SPF, spf_lookup('"v=spf1 include:amazonses.com ~all"'))

    assert result.hint == "literal_quotes"


def test_spf_split_without_space() -> None:
    lookup = spf_lookup(
        "v=spf1 mxinclude:amazonses.com ~all",
        strings=(("v=spf1 mx", "include:amazonses.com ~all"),),
    )

    assert classify_spf(SPF, lookup).hint == "txt_split_no_space"


def test_spf_split_with_space_is_fine() -> None:
    lookup = spf_lookup(
        "v=spf1 mx include:amazonses.com ~all",
        strings=(("v=spf1 mx ", "include:amazonses.com ~all"),),
    )

    assert classify_spf(SPF, lookup).ok


@pytest.mark.parametrize(
    ("evaluation", "hint"),
    [
        (SpfEvaluation(lookups=11), "spf_too_many_lookups"),
        (SpfEvaluation(lookups=10), None),
        (SpfEvaluation(lookups=4, void_lookups=3), "spf_void_lookups"),
        (SpfEvaluation(lookups=2, broken_includes=("gone.example",)), "spf_include_broken"),
    ],
)
def test_spf_evaluation(evaluation: SpfEvaluation, hint: str | None) -> None:
    result = classify_spf(SPF, spf_lookup("v=spf1 include:amazonses.com ~all"), evaluation)

    assert result.hint == hint


def test_spf_helpers() -> None:
    assert spf_with_terms("v=spf1 mx", ["include:x.com"]) == "v=spf1 mx include:x.com"
    assert spf_with_terms("v=spf1 redirect=_spf.a.com", ["include:x.com"]) == (
        "v=spf1 include:x.com redirect=_spf.a.com"
    )
    assert merge_spf(["v=spf1 a -all", "v=spf1 a mx ~all"], []) == "v=spf1 a mx -all"


# --- DMARC -------------------------------------------------------------------------------

DMARC = ExpectedRecord(
    "TXT", "_dmarc.mail.acme.com", "v=DMARC1; p=none; rua=mailto:d@acme.com", Purpose.DMARC, ZONE
)


def dmarc_obs(
    *values: str, apex: Lookup | None = None, org: Lookup | None = None
) -> DmarcObservation:
    public = seen(DMARC.name, "TXT", *values) if values else nxdomain(DMARC.name, "TXT")
    return DmarcObservation(public, apex, org)


@pytest.mark.parametrize(
    ("values", "hint", "outcome"),
    [
        (("v=DMARC1; p=reject",), None, Outcome.OK),
        (("v=DMARC1; p=none; rua=mailto:a@b.c",), "dmarc_policy_none", Outcome.OK),
        (("v=DMARC1; p=reject", "v=DMARC1; p=none"), "dmarc_multiple", Outcome.MISMATCH),
        (("v=DMARC1; p=maybe",), "dmarc_syntax", Outcome.MISMATCH),
        (("v=DMARC1; rua=mailto:a@b.c",), "dmarc_syntax", Outcome.MISMATCH),
        (("v=DMARC1; p=reject; rua=a@b.c",), "dmarc_syntax", Outcome.MISMATCH),
        ((), "dmarc_missing", Outcome.MISSING),
    ],
)
def test_dmarc(values: tuple[str, ...], hint: str | None, outcome: Outcome) -> None:
    result = classify_dmarc(DMARC, dmarc_obs(*values))

    assert (result.hint, result.outcome) == (hint, outcome)


def test_dmarc_at_apex() -> None:
    obs = dmarc_obs(apex=seen("mail.acme.com", "TXT", "v=DMARC1; p=reject"))

    assert classify_dmarc(DMARC, obs).hint == "dmarc_at_apex"


def test_dmarc_inherited_from_the_organizational_domain() -> None:
    obs = dmarc_obs(org=seen("_dmarc.acme.com", "TXT", "v=DMARC1; p=quarantine"))

    result = classify_dmarc(DMARC, obs)

    assert result.ok
    assert "inherited from _dmarc.acme.com" in result.fix


def test_dmarc_problems_lists_each() -> None:
    assert dmarc_problems("v=DMARC1; p=reject; pct=150") == [
        "`pct=150` must be a number from 0 to 100"
    ]
    assert dmarc_problems("v=DMARC1; p=none") == []


# --- MX for MAIL FROM ----------------------------------------------------------------------

MAIL_FROM = ExpectedRecord(
    "MX",
    "bounce.mail.acme.com",
    "10 feedback-smtp.eu-west-1.amazonses.com",
    Purpose.MAIL_FROM_MX,
    ZONE,
)


@pytest.mark.parametrize(
    ("obs", "hint"),
    [
        (
            MxObservation(seen(MAIL_FROM.name, "MX", "10 feedback-smtp.eu-west-1.amazonses.com")),
            None,
        ),
        (
            MxObservation(seen(MAIL_FROM.name, "MX", "10 feedback-smtp.us-east-1.amazonses.com")),
            "mailfrom_mx_wrong_region",
        ),
        (MxObservation(seen(MAIL_FROM.name, "MX", "10 mx.example.net")), "wrong_target"),
        (
            MxObservation(
                nodata(MAIL_FROM.name, "MX"), cname=seen(MAIL_FROM.name, "CNAME", "x.net")
            ),
            "mailfrom_cname_conflict",
        ),
        (MxObservation(nxdomain(MAIL_FROM.name, "MX")), "mailfrom_mx_missing"),
        (MxObservation(failed(MAIL_FROM.name, "MX")), "dns_error"),
    ],
)
def test_mail_from_mx(obs: MxObservation, hint: str | None) -> None:
    assert classify_mail_from_mx(MAIL_FROM, obs).hint == hint


# --- apex address --------------------------------------------------------------------------

APEX = ExpectedRecord("A", "mystore.com", "203.0.113.10", Purpose.ROUTING, "mystore.com")


@pytest.mark.parametrize(
    ("addresses", "targets", "hint"),
    [
        (("203.0.113.10",), (), None),
        (("198.51.100.7",), ("198.51.100.7",), None),  # a flattened CNAME to our target
        (("104.21.3.4",), (), "cloudflare_proxy"),
        (("203.0.113.10", "192.0.2.50"), (), "wrong_target"),
        ((), (), "not_found"),
    ],
)
def test_apex_address(
    addresses: tuple[str, ...], targets: tuple[str, ...], hint: str | None
) -> None:
    a = seen(APEX.name, "A", *addresses) if addresses else nodata(APEX.name, "A")
    obs = AddressObservation(a, target_addresses=frozenset(targets))

    assert classify_apex_address(APEX, obs).hint == hint


# --- sets -------------------------------------------------------------------------------


def _results(*lookups: Lookup) -> list:
    return [classify_cname(DKIM, CnameObservation(lookup)) for lookup in lookups]


def test_summary_all_ok() -> None:
    summary = summarise(_results(seen(DKIM.name, "CNAME", "t1.dkim.amazonses.com")))

    assert (summary.outcome, summary.hint) == (Outcome.OK, None)


def test_summary_partial() -> None:
    summary = summarise(
        _results(seen(DKIM.name, "CNAME", "t1.dkim.amazonses.com"), nxdomain(DKIM.name, "CNAME"))
    )

    assert summary.hint == "partial"
    assert (summary.ok_count, summary.total) == (1, 2)


def test_summary_nothing_at_the_dns_host_names_it() -> None:
    missing = CnameObservation(
        nxdomain(DKIM.name, "CNAME"),
        authoritative=nxdomain(DKIM.name, "CNAME", view=View.AUTHORITATIVE),
    )

    summary = summarise([classify_cname(DKIM, missing)], zone_nameservers=("ns-12.awsdns-01.com",))

    assert summary.hint == "wrong_dns_host"
    assert "Amazon Route 53" in summary.fix


def test_summary_does_not_blame_the_dns_host_it_could_not_ask() -> None:
    unasked = CnameObservation(
        nxdomain(DKIM.name, "CNAME"),
        authoritative=Lookup(DKIM.name, "CNAME", View.AUTHORITATIVE, Status.TIMEOUT),
    )

    summary = summarise([classify_cname(DKIM, unasked)], zone_nameservers=("ns-12.awsdns-01.com",))

    assert summary.hint == "not_found"


def test_summary_transient_wins_over_missing() -> None:
    summary = summarise(_results(failed(DKIM.name, "CNAME"), nxdomain(DKIM.name, "CNAME")))

    assert summary.hint == "dns_error"
