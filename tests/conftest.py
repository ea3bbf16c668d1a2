"""Shared fixtures: the organization trio (an owner, a staff member, and an outsider who
owns another organization and must see nothing), and API clients for both surfaces."""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from rest_framework.test import APIClient

from accounts.models import Membership, Organization, User
from accounts.services import api_key_create, membership_set, organization_create
from audit.services import close_prune_gate, open_prune_gate
from config.cache import GenerationalCache
from tests.dns_server import KnotServer, UnboundResolver, dns_tools_missing_reason
from tests.doh_server import DohServer

PASSWORD = "correct horse battery staple"


@dataclass
class OrgTrio:
    organization: Organization
    owner: User
    staff: User
    other_organization: Organization
    outsider: User


@pytest.fixture(autouse=True, scope="session")
def _flush_passes_the_audit_triggers() -> Iterator[None]:
    """A transactional test ends with Django emptying every table, which the audit log's
    append-only triggers refuse. Let that flush through the same door as the retention
    prune, inside the flush's own transaction, and nothing else."""
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: BaseDatabaseOperations, sql_list: list[str]) -> None:
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                open_prune_gate(cursor)
            original(self, sql_list)
            with self.connection.cursor() as cursor:
                close_prune_gate(cursor)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    BaseDatabaseOperations.execute_sql_flush = original


@pytest.fixture(scope="session")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """A real authoritative DNS server on loopback, for the whole session."""
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
    """A caching resolver in front of `knot`, for negative-caching behaviour."""
    reason = dns_tools_missing_reason(unbound=True)
    if reason:
        pytest.skip(reason)
    resolver = UnboundResolver(tmp_path_factory.mktemp("unbound"), knot.port).start()
    yield resolver
    resolver.stop()


@pytest.fixture
def dns(settings, knot: KnotServer) -> Iterator[KnotServer]:
    """Every DNS question of the product goes to the test server: the public view, the
    zones' own servers, and DoH through the stand-in."""
    doh = DohServer(knot.port).start()
    settings.DNS_NAMESERVERS = f"127.0.0.1:{knot.port}"
    settings.DNS_AUTHORITATIVE_PORT = knot.port
    settings.DNS_DOH_URL = doh.url
    settings.DNS_TIMEOUT = 2.0
    yield knot
    doh.stop()


@pytest.fixture
def label() -> str:
    """A fresh DNS label per test, so tests sharing the server never see each other's records."""
    return "t" + secrets.token_hex(4)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters live in the cache; one test's requests must not slow the next.
    cache.clear()
    GenerationalCache.clear_local()


@pytest.fixture
def trio(db: None) -> OrgTrio:
    owner = User.objects.create_user("owner@acme.test", PASSWORD)
    staff = User.objects.create_user("staff@acme.test", PASSWORD)
    outsider = User.objects.create_user("outsider@globex.test", PASSWORD)
    organization = organization_create(name="Acme", owner=owner)
    membership_set(organization=organization, user=staff, role=Membership.Role.STAFF)
    other = organization_create(name="Globex", owner=outsider)
    return OrgTrio(organization, owner, staff, other, outsider)


def bearer_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api_key(trio: OrgTrio) -> str:
    return api_key_create(organization=trio.organization, name="ci", created_by=trio.owner).raw_key


@pytest.fixture
def v1(api_key: str) -> APIClient:
    """/api/v1/ client for the trio's organization."""
    return bearer_client(api_key)


@pytest.fixture
def outsider_v1(trio: OrgTrio) -> APIClient:
    """/api/v1/ client for the other organization."""
    issued = api_key_create(
        organization=trio.other_organization, name="other", created_by=trio.outsider
    )
    return bearer_client(issued.raw_key)


def session_client(user: User, *, enforce_csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


@pytest.fixture
def owner_session(trio: OrgTrio) -> APIClient:
    return session_client(trio.owner)


@pytest.fixture
def staff_session(trio: OrgTrio) -> APIClient:
    return session_client(trio.staff)


@pytest.fixture
def outsider_session(trio: OrgTrio) -> APIClient:
    return session_client(trio.outsider)
