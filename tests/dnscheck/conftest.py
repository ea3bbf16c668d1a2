import pytest

from dnscheck.lookup import Lookup, normalise_name
from dnscheck.resolver import DnsResolver, ResolverConfig, Zone
from tests.dns_server import KnotServer


@pytest.fixture
def resolver(knot: KnotServer) -> DnsResolver:
    """Public view straight at the Knot server; authoritative view on its port."""
    return DnsResolver(
        ResolverConfig(
            nameservers=(("127.0.0.1", knot.port),), authoritative_port=knot.port, timeout=2.0
        )
    )


class SpyResolver(DnsResolver):
    """The real seam, noting which names it walked to their zone and which questions it
    asked in the public view (zone walks' SOA questions aside)."""

    def __init__(self, config: ResolverConfig) -> None:
        super().__init__(config)
        self.walked: list[str] = []
        self.asked: list[tuple[str, str]] = []

    async def zone_for(self, name: str) -> Zone:
        self.walked.append(normalise_name(name))
        return await super().zone_for(name)

    async def public(self, name: str, rdtype: str) -> Lookup:
        self.asked.append((normalise_name(name), rdtype))
        return await super().public(name, rdtype)


@pytest.fixture
def spy(knot: KnotServer) -> SpyResolver:
    return SpyResolver(
        ResolverConfig(
            nameservers=(("127.0.0.1", knot.port),), authoritative_port=knot.port, timeout=2.0
        )
    )
