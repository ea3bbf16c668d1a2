import pytest

from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer


@pytest.fixture
def resolver(knot: KnotServer) -> DnsResolver:
    """Public view straight at the Knot server; authoritative view on its port."""
    return DnsResolver(
        ResolverConfig(
            nameservers=(("127.0.0.1", knot.port),), authoritative_port=knot.port, timeout=2.0
        )
    )
