import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dnscheck.names import DomainNameError, normalize_domain, relative_host, to_display

CODES = {
    "INVALID_DOMAIN",
    "IP_LITERAL",
    "WILDCARD",
    "TOO_LONG",
    "PUBLIC_SUFFIX",
    "SPECIAL_USE",
    "RESERVED_TARGET",
}


@pytest.mark.parametrize(
    ("raw", "ascii_name"),
    [
        ("  Mail.Acme.COM. ", "mail.acme.com"),
        ("mystöre.com", "xn--mystre-zxa.com"),
        ("xn--mystre-zxa.com", "xn--mystre-zxa.com"),
        ("\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com", "example.com"),  # fullwidth
        ("faß.de", "xn--fa-hia.de"),
        ("https://Shop.Example.com/path?q=1", "shop.example.com"),
        ("shop.example.com/", "shop.example.com"),
        ("a.b.co.uk", "a.b.co.uk"),
    ],
)
def test_it_normalises(raw: str, ascii_name: str) -> None:
    assert normalize_domain(raw).ascii == ascii_name


def test_unicode_and_punycode_are_the_same_domain() -> None:
    unicode_form = normalize_domain("mystöre.com")
    punycode = normalize_domain("xn--mystre-zxa.com")

    assert unicode_form == punycode
    assert punycode.display == "mystöre.com"


def test_registrable_domain_comes_from_the_public_suffix_list() -> None:
    name = normalize_domain("mail.shop.acme.co.uk")

    assert (name.registrable, name.public_suffix) == ("acme.co.uk", "co.uk")
    assert not name.is_apex
    assert normalize_domain("acme.co.uk").is_apex


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "INVALID_DOMAIN"),
        ("   ", "INVALID_DOMAIN"),
        (".", "INVALID_DOMAIN"),
        ("a..b.com", "INVALID_DOMAIN"),
        ("-shop.com", "INVALID_DOMAIN"),
        ("shop_1.com", "INVALID_DOMAIN"),
        ("ex ample.com", "INVALID_DOMAIN"),
        ("localhost", "SPECIAL_USE"),
        ("intranet", "INVALID_DOMAIN"),
        ("printer.local", "SPECIAL_USE"),
        ("1.2.3.4", "IP_LITERAL"),
        ("[2001:db8::1]", "IP_LITERAL"),
        ("2001:db8::1", "IP_LITERAL"),
        ("http://10.0.0.1/", "IP_LITERAL"),
        ("1.2.3", "INVALID_DOMAIN"),
        ("*.acme.com", "WILDCARD"),
        ("a" * 64 + ".com", "TOO_LONG"),
        (".".join(["abcdefghi"] * 26) + ".com", "TOO_LONG"),
        ("com", "PUBLIC_SUFFIX"),
        ("co.uk", "PUBLIC_SUFFIX"),
        ("github.io", "PUBLIC_SUFFIX"),
        (None, "INVALID_DOMAIN"),
        (42, "INVALID_DOMAIN"),
    ],
)
def test_it_refuses_with_a_code(raw: object, code: str) -> None:
    with pytest.raises(DomainNameError) as refusal:
        normalize_domain(raw)

    assert refusal.value.code == code
    assert refusal.value.message


def test_it_refuses_our_own_hosts_and_names_under_them() -> None:
    reserved = ["api.domainkeeper.example", "RP.Domainkeeper.example."]

    for raw in (
        "api.domainkeeper.example",
        "shop.api.domainkeeper.example",
        "rp.domainkeeper.example",
    ):
        with pytest.raises(DomainNameError) as refusal:
            normalize_domain(raw, reserved=reserved)
        assert refusal.value.code == "RESERVED_TARGET"
    assert (
        normalize_domain("domainkeeper.example", reserved=reserved).ascii == "domainkeeper.example"
    )


@pytest.mark.parametrize(
    ("name", "zone", "host"),
    [
        ("t1._domainkey.mail.acme.com", "acme.com", "t1._domainkey.mail"),
        ("acme.com", "acme.com", "@"),
        ("_dmarc.acme.com.", "ACME.com", "_dmarc"),
        ("other.net", "acme.com", "other.net."),
    ],
)
def test_relative_host(name: str, zone: str, host: str) -> None:
    assert relative_host(name, zone) == host


def test_display_of_a_name_that_does_not_decode_is_the_name() -> None:
    assert to_display("xn--zz.com") == "xn--zz.com"


# --- properties ------------------------------------------------------------------------

label_chars = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-öüßéñ漢字")
labels = st.text(label_chars, min_size=1, max_size=20)
domains = st.lists(labels, min_size=2, max_size=5).map(".".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), domains, st.none(), st.integers()))
def test_it_never_raises_anything_but_the_documented_error(raw: object) -> None:
    try:
        normalize_domain(raw)
    except DomainNameError as refusal:
        assert refusal.code in CODES


@settings(max_examples=400, deadline=None)
@given(domains)
def test_normalising_is_idempotent_and_round_trips_idna(raw: str) -> None:
    try:
        first = normalize_domain(raw)
    except DomainNameError:
        return
    again = normalize_domain(first.ascii)
    from_display = normalize_domain(first.display)

    assert again == first
    assert from_display == first
    assert first.ascii.isascii() and first.ascii == first.ascii.lower()
    assert len(first.ascii) <= 253
