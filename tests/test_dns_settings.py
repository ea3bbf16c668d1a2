from django.test import override_settings

from config.dns import dns_resolver, reserved_hosts


@override_settings(
    DNS_NAMESERVERS="127.0.0.1:5353, [::1]:53",
    DNS_DOH_URL="http://127.0.0.1:8053/dns-query",
    DNS_AUTHORITATIVE_PORT=5300,
    DNS_TIMEOUT=1.5,
)
def test_the_resolver_follows_the_settings() -> None:
    config = dns_resolver().config

    assert config.nameservers == (("127.0.0.1", 5353), ("::1", 53))
    assert config.doh_url == "http://127.0.0.1:8053/dns-query"
    assert (config.authoritative_port, config.timeout) == (5300, 1.5)


def test_one_resolver_per_configuration() -> None:
    assert dns_resolver() is dns_resolver()
    with override_settings(DNS_TIMEOUT=0.5):
        assert dns_resolver().config.timeout == 0.5


@override_settings(
    CUSTOM_DOMAIN_TARGET="edge.domainkeeper.example", BACKEND_BASE_URL="https://api.dk.example"
)
def test_reserved_hosts_are_our_targets() -> None:
    assert reserved_hosts() == ["edge.domainkeeper.example", "api.dk.example"]
