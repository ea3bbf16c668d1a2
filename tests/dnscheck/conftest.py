import secrets
from collections.abc import Iterator

import pytest

from dnscheck.resolver import DnsResolver, ResolverConfig
from tests.dns_server import KnotServer, UnboundResolver, dns_tools_missing_reason


@pytest.fixture(scope="session")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    reason = dns_tools_missing_reason()
    if reason:
        pytest.skip(reason)
    server = KnotServer(tmp_path_factory.mktemp("knot")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def unbound(
    tmp_path_factory: pytest.TempPathFactory, knot: KnotServer
) -> Iterator[UnboundResolver]:
    resolver = UnboundResolver(tmp_path_factory.mktemp("unbound"), knot.port).start()
    yield resolver
    resolver.stop()


@pytest.fixture
def resolver(knot: KnotServer) -> DnsResolver:
    """Public view straight at the Knot server; authoritative view on its port."""
    return DnsResolver(
        ResolverConfig(
            nameservers=(("127.0.0.1", knot.port),), authoritative_port=knot.port, timeout=2.0
        )
    )


@pytest.fixture
def label() -> str:
    """A fresh label per test, so tests sharing the server never see each other's records."""
    return "t" + secrets.token_hex(4)
