"""The live status of a verified store domain: the routing record against the loopback Knot
server, HTTPS against a loopback server with a throwaway CA, CAA, the schedule, the API
and the dashboard."""

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from storefronts.live import (
    LIVE_CHECK_EVERY,
    LIVE_RETRY_EVERY,
    judge_caa,
    live_fix,
    storefront_live_probe,
    storefronts_live_probe_due,
)
from storefronts.models import Storefront
from storefronts.services import storefront_set_primary_host
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer, UnboundResolver, free_port
from tests.storefronts.conftest import verified, verify_txt
from tests.tls_server import HttpsServer, Leaf, ThrowawayCA, self_signed

pytestmark = pytest.mark.django_db

URL = "/api/v1/store/storefront/domain"
INTERNAL = "/api/internal/store/storefront/domain"
PAGE = "/overview/storefront"
TARGET = "edge.dk-service.test"
LONG_AGO = timedelta(hours=2)  # past the TLS grace after verification


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    return ThrowawayCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def live(settings, dns: KnotServer, ca: ThrowawayCA) -> KnotServer:
    """Our target resolves to loopback; HTTPS is probed on a port nothing listens on
    until a test starts a server; only the throwaway CA is trusted."""
    settings.CUSTOM_DOMAIN_TARGET = TARGET
    settings.CUSTOM_DOMAIN_TARGET_IPS = ["127.0.0.1"]
    settings.LIVE_PROBE_CA_FILE = str(ca.path)
    settings.LIVE_PROBE_HTTPS_PORT = free_port()
    settings.LIVE_PROBE_TIMEOUT = 1.0
    settings.TLS_CA_DOMAINS = ["letsencrypt.org"]
    dns.set(TARGET, "A", "127.0.0.1")
    return dns


@pytest.fixture
def serve(settings, tmp_path: Path) -> Iterator[Callable[..., HttpsServer]]:
    servers: list[HttpsServer] = []

    def start(leaf: Leaf, status: int = 200, location: str | None = None) -> HttpsServer:
        directory = tmp_path / f"server{len(servers)}"
        directory.mkdir()
        server = HttpsServer(leaf, directory, status=status, location=location).start()
        servers.append(server)
        settings.LIVE_PROBE_HTTPS_PORT = server.port
        return server

    yield start
    for server in servers:
        server.stop()


def apex(live: KnotServer, storefront: Storefront, label: str) -> Storefront:
    """`<label>.test` (an apex) verified, with its A record at our address and its `www`
    pair's CNAME to our target."""
    name = f"{label}.test"
    live.set(name, "A", "127.0.0.1")
    live.set(f"www.{name}", "CNAME", TARGET + ".")
    return verified(storefront, name)


def subdomain(live: KnotServer, storefront: Storefront, label: str) -> Storefront:
    """`shop.<label>.example.test` verified, with its CNAME to our target."""
    name = f"shop.{label}.example.test"
    live.set(name, "CNAME", TARGET + ".")
    return verified(storefront, name)


def verified_long_ago(storefront: Storefront) -> Storefront:
    Storefront.objects.filter(pk=storefront.pk).update(
        custom_domain_verified_at=timezone.now() - LONG_AGO
    )
    storefront.refresh_from_db()
    return storefront


def probed(storefront: Storefront) -> Storefront:
    assert storefront_live_probe(storefront=storefront) == "checked"
    return storefront


def probed_under_a_blocking_caa(live: KnotServer, storefront: Storefront, label: str) -> Storefront:
    """An apex verified past the TLS grace, whose CAA set allows only another CA, probed."""
    storefront = verified_long_ago(apex(live, storefront, label))
    live.set(storefront.custom_domain, "CAA", '0 issue "example-ca.test"')
    return probed(storefront)


# --- routing ----------------------------------------------------------------------------


def test_an_apex_at_our_address_with_a_valid_certificate_is_live(
    live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve
) -> None:
    storefront = apex(live, storefront, label)
    server = serve(ca.issue(storefront.custom_domain))

    probed(storefront)

    assert (storefront.routing_status, storefront.tls_status) == ("ok", "active")
    assert storefront.live_hint == ""
    observed = storefront.live_observed
    assert observed["routing"]["type"] == "A"
    assert (observed["routing"]["value"], observed["routing"]["seenValue"]) == (
        "127.0.0.1",
        "127.0.0.1",
    )
    assert observed["tls"]["valid"] is True
    assert observed["tls"]["certificate"]["issuer"] == "CN=Domainkeeper Test CA"
    assert observed["tls"]["certificate"]["names"] == [storefront.custom_domain]
    assert observed["http"]["status"] == 200
    assert server.hosts == [storefront.custom_domain]
    assert storefront.live_next_check_at - storefront.live_checked_at == LIVE_CHECK_EVERY


def test_a_subdomain_with_a_cname_to_the_target_is_live(
    live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve
) -> None:
    storefront = subdomain(live, storefront, label)
    serve(ca.issue(storefront.custom_domain))

    probed(storefront)

    assert (storefront.routing_status, storefront.tls_status) == ("ok", "active")
    assert storefront.live_observed["routing"]["type"] == "CNAME"
    assert storefront.live_observed["routing"]["seenValue"] == TARGET
    assert storefront.live_observed["addresses"] == ["127.0.0.1"]


def test_a_www_pair_is_routed_too_and_https_is_probed_at_the_primary_host(
    live: KnotServer, storefront: Storefront, ca: ThrowawayCA, serve
) -> None:
    """An apex whose own zone holds its www (as at a DNS host: the CNAME leaves the zone).
    `<label>.test` would not do: the test server holds our target's zone under `test.`
    without a delegation, and answers a CNAME into it with NXDOMAIN."""
    apex_name, www = "cfhosted.test", "www.cfhosted.test"
    live.set(apex_name, "A", "127.0.0.1")
    live.set(www, "CNAME", "other.dk-service.test.")
    storefront = verified(storefront, apex_name)
    server = serve(ca.issue(apex_name))

    probed(storefront)

    assert (storefront.routing_status, storefront.live_hint) == ("misconfigured", "wrong_target")
    observed = storefront.live_observed
    assert (observed["routing"]["hostname"], observed["routing"]["outcome"]) == (apex_name, "ok")
    assert observed["pairRouting"]["hostname"] == www
    assert observed["pairRouting"]["seenValue"] == "other.dk-service.test"
    assert TARGET in live_fix(storefront) and "www" in live_fix(storefront)
    assert server.hosts == [apex_name]  # HTTPS at the primary host

    live.set(www, "CNAME", TARGET + ".")
    storefront = storefront_set_primary_host(storefront=storefront, host=www)
    server = serve(ca.issue(www))
    probed(storefront)

    assert (storefront.routing_status, storefront.tls_status) == ("ok", "active")
    assert storefront.live_observed["routing"]["hostname"] == www  # the primary host's first
    assert storefront.live_observed["tls"]["certificate"]["names"] == [www]
    assert server.hosts == [www]


def test_an_unpaired_domain_has_no_pair_routing(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    probed(subdomain(live, storefront, label))

    assert storefront.live_observed["pairRouting"] is None


def test_a_cname_elsewhere_is_misconfigured_with_the_routing_hint(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    name = f"shop.{label}.example.test"
    live.set(name, "CNAME", "other.dk-service.test.")
    storefront = verified(storefront, name)

    probed(storefront)

    assert storefront.routing_status == "misconfigured"
    assert storefront.live_hint == "wrong_target"
    assert storefront.live_observed["routing"]["seenValue"] == "other.dk-service.test"
    assert TARGET in storefront.live_observed["routing"]["fix"]
    assert storefront.tls_status == "pending"  # nothing to connect to, within the grace
    assert storefront.live_next_check_at - storefront.live_checked_at == LIVE_RETRY_EVERY


def test_an_apex_without_an_address_is_misconfigured(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    live.set(f"{label}.test", "TXT", '"v=spf1 -all"')  # the name exists, with no address
    storefront = verified(storefront, f"{label}.test")

    probed(storefront)

    assert (storefront.routing_status, storefront.live_hint) == ("misconfigured", "not_found")
    assert storefront.live_observed["tls"]["error"] == "no A or AAAA record to connect to"


def test_a_record_published_that_resolvers_still_miss_is_unknown_not_misconfigured(
    live: KnotServer, unbound: UnboundResolver, storefront: Storefront, label: str, settings
) -> None:
    settings.DNS_NAMESERVERS = f"127.0.0.1:{unbound.port}"  # a resolver that caches misses
    storefront = verified(storefront, f"shop.{label}.example.test")
    assert probed(storefront).routing_status == "misconfigured"  # the miss is cached now
    live.set(storefront.custom_domain, "CNAME", TARGET + ".")

    probed(storefront)

    assert (storefront.routing_status, storefront.live_hint) == ("unknown", "propagating")
    assert storefront.live_observed["routing"]["outcome"] == "missing"
    assert storefront.live_next_check_at - storefront.live_checked_at == LIVE_RETRY_EVERY


def test_a_dns_failure_keeps_the_last_status_and_retries_sooner(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    storefront = verified(storefront, f"shop.{label}.broken.test")  # the server SERVFAILs
    checked_at = timezone.now() - timedelta(hours=3)
    earlier = {"routing": {"seenValue": TARGET}}
    Storefront.objects.filter(pk=storefront.pk).update(
        routing_status="ok",
        tls_status="active",
        live_observed=earlier,
        live_checked_at=checked_at,
    )
    storefront.refresh_from_db()

    outcome = storefront_live_probe(storefront=storefront)

    assert outcome == "transient"
    assert (storefront.routing_status, storefront.tls_status) == ("ok", "active")
    assert storefront.live_checked_at == checked_at
    assert storefront.live_observed["routing"] == earlier["routing"]
    assert "servfail" in storefront.live_observed["lastAttempt"]["error"]
    assert storefront.live_next_check_at - timezone.now() <= LIVE_RETRY_EVERY


def test_a_domain_never_answered_for_stays_unknown(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    storefront = verified(storefront, f"shop.{label}.broken.test")

    assert storefront_live_probe(storefront=storefront) == "transient"

    assert (storefront.routing_status, storefront.tls_status) == ("unknown", "pending")
    assert storefront.live_checked_at is None


# --- TLS and HTTP ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("certificate", "error"),
    [
        ("wrong_name", "Hostname mismatch"),
        ("expired", "certificate has expired"),
        ("self_signed", "self-signed certificate"),
    ],
)
def test_a_certificate_browsers_refuse_is_failed_after_the_grace(
    live: KnotServer,
    storefront: Storefront,
    label: str,
    ca: ThrowawayCA,
    serve,
    certificate: str,
    error: str,
) -> None:
    storefront = verified_long_ago(apex(live, storefront, label))
    name = storefront.custom_domain
    leaf = {
        "wrong_name": lambda: ca.issue(f"other.{name}"),
        "expired": lambda: ca.issue(name, expired=True),
        "self_signed": lambda: self_signed(name),
    }[certificate]()
    server = serve(leaf)

    probed(storefront)

    assert (storefront.routing_status, storefront.tls_status) == ("ok", "failed")
    tls = storefront.live_observed["tls"]
    assert tls["valid"] is False
    assert error in tls["error"]
    assert tls["certificate"]["subject"].startswith("CN=")  # what was offered, for the record
    assert storefront.live_observed["http"]["status"] is None
    assert server.hosts == []  # no request is sent over a connection that did not verify


def test_a_refused_certificate_within_the_grace_is_pending(
    live: KnotServer, storefront: Storefront, label: str, serve
) -> None:
    storefront = apex(live, storefront, label)
    serve(self_signed(storefront.custom_domain))

    probed(storefront)

    assert storefront.tls_status == "pending"


def test_no_certificate_is_pending_within_the_grace_then_failed(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    storefront = apex(live, storefront, label)  # nothing listens on the HTTPS port

    first = probed(storefront).tls_status
    second = probed(verified_long_ago(storefront)).tls_status

    assert (first, second) == ("pending", "failed")
    assert storefront.live_observed["tls"]["error"].startswith("cannot connect")


def test_a_server_error_is_failed(
    live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve
) -> None:
    storefront = apex(live, storefront, label)
    serve(ca.issue(storefront.custom_domain), status=502)

    probed(storefront)

    assert (storefront.tls_status, storefront.live_observed["http"]["status"]) == ("failed", 502)
    assert storefront.live_next_check_at - storefront.live_checked_at == LIVE_RETRY_EVERY


def test_a_redirect_is_an_answer_and_is_not_followed(
    live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve
) -> None:
    storefront = apex(live, storefront, label)
    server = serve(
        ca.issue(storefront.custom_domain), status=301, location="https://elsewhere.example/"
    )

    probed(storefront)

    assert storefront.tls_status == "active"
    assert storefront.live_observed["http"] == {
        "status": 301,
        "error": None,
        "location": "https://elsewhere.example/",
    }
    assert len(server.hosts) == 1


def test_a_private_address_that_is_not_ours_is_never_connected_to(
    live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve, settings
) -> None:
    settings.CUSTOM_DOMAIN_TARGET_IPS = ["192.0.2.10"]  # our edge; 127.0.0.1 is not ours now
    storefront = apex(live, storefront, label)
    server = serve(ca.issue(storefront.custom_domain))

    probed(storefront)

    assert (storefront.routing_status, storefront.live_hint) == ("misconfigured", "wrong_target")
    assert storefront.live_observed["tls"]["error"] == (
        "not probed: 127.0.0.1 is not a public address"
    )
    assert storefront.live_observed["tls"]["certificate"] is None
    assert server.hosts == []


@pytest.mark.parametrize(
    ("rdtype", "address"),
    [
        ("A", "192.88.99.1"),  # 6to4 relay anycast
        ("AAAA", "64:ff9b::7f00:1"),  # NAT64 of 127.0.0.1
        ("AAAA", "2002:7f00:1::"),  # 6to4 of 127.0.0.1
        ("AAAA", "::7f00:1"),  # IPv4-compatible 127.0.0.1
        ("AAAA", "3fff::1"),  # documentation
    ],
)
def test_a_special_purpose_address_is_never_connected_to(
    live: KnotServer, storefront: Storefront, label: str, rdtype: str, address: str
) -> None:
    name = f"{label}.test"
    live.set(name, rdtype, address)
    storefront = verified(storefront, name)

    probed(storefront)

    assert storefront.live_observed["addresses"] == [address]
    assert storefront.live_observed["tls"]["error"] == (
        f"not probed: {address} is not a public address"
    )
    assert storefront.live_observed["tls"]["address"] is None


def test_a_host_that_never_answers_costs_the_timeout_only(
    live: KnotServer, storefront: Storefront, label: str, settings
) -> None:
    import socket
    import time

    settings.LIVE_PROBE_TIMEOUT = 0.3
    storefront = verified_long_ago(apex(live, storefront, label))
    with socket.socket() as silent:  # accepts connections (the backlog) and never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.LIVE_PROBE_HTTPS_PORT = silent.getsockname()[1]
        started = time.monotonic()
        probed(storefront)
        took = time.monotonic() - started

    assert storefront.tls_status == "failed"
    assert storefront.live_observed["tls"]["error"].startswith("connected, but no TLS handshake")
    assert took < 3


# --- CAA ---------------------------------------------------------------------------------


def test_a_caa_record_for_another_ca_blocks_issuance(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    storefront = probed_under_a_blocking_caa(live, storefront, label)

    assert storefront.live_hint == "caa_blocks_issuance"
    assert storefront.tls_status == "pending"  # no certificate can come: not `failed`
    caa = storefront.live_observed["caa"]
    assert (caa["name"], caa["records"]) == (
        storefront.custom_domain,
        ['0 issue "example-ca.test"'],
    )
    assert (caa["permits"], caa["issuers"]) == (False, ["example-ca.test"])
    assert caa["suggested"] == ['0 issue "letsencrypt.org"']
    assert '`0 issue "letsencrypt.org"`' in caa["fix"]


def test_a_valid_certificate_stays_active_under_a_blocking_caa_with_a_warning(
    live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve
) -> None:
    storefront = apex(live, storefront, label)
    live.set(storefront.custom_domain, "CAA", '0 issue "example-ca.test"')
    serve(ca.issue(storefront.custom_domain))

    probed(storefront)

    assert (storefront.tls_status, storefront.live_hint) == ("active", "caa_blocks_issuance")


@pytest.mark.parametrize(
    ("records", "ca_domains"),
    [
        (['0 issue "letsencrypt.org"'], ["letsencrypt.org"]),
        (
            ['0 issue "example-ca.test; accounturi=x"', '0 issue "LetsEncrypt.org"'],
            ["letsencrypt.org"],
        ),
        (['0 issue "example-ca.test"'], ["letsencrypt.org", "example-ca.test"]),
        (['0 iodef "mailto:security@example.test"'], ["letsencrypt.org"]),
    ],
)
def test_a_caa_set_that_permits_our_ca_gives_no_hint(
    live: KnotServer,
    storefront: Storefront,
    label: str,
    settings,
    records: list[str],
    ca_domains: list[str],
) -> None:
    settings.TLS_CA_DOMAINS = ca_domains
    storefront = apex(live, storefront, label)
    live.set(storefront.custom_domain, "CAA", *records)

    probed(storefront)

    assert storefront.live_hint == ""
    assert storefront.live_observed["caa"]["permits"] is True
    assert storefront.live_observed["caa"]["name"] == storefront.custom_domain


def test_the_caa_set_of_a_parent_applies(
    live: KnotServer, storefront: Storefront, label: str
) -> None:
    storefront = subdomain(live, storefront, label)
    live.set(f"{label}.example.test", "CAA", '0 issue "example-ca.test"')

    probed(storefront)

    assert storefront.live_hint == "caa_blocks_issuance"
    assert storefront.live_observed["caa"]["name"] == f"{label}.example.test"
    assert "`shop`" not in storefront.live_observed["caa"]["fix"]
    assert f"`{label}`" in storefront.live_observed["caa"]["fix"]  # the host in its zone


def test_no_caa_anywhere_permits(live: KnotServer, storefront: Storefront, label: str) -> None:
    probed(subdomain(live, storefront, label))

    assert storefront.live_observed["caa"]["name"] is None
    assert storefront.live_hint == ""


@pytest.mark.parametrize(
    ("records", "permits"),
    [
        (['0 issue ";"'], False),  # no CA at all
        (['0 issuewild "letsencrypt.org"'], True),  # wildcards only: not our name
        (['128 tbs "x"'], False),  # an unknown critical property
        (['0 tbs "x"'], True),  # an unknown property that is not critical
        (
            ['0 issue "example-ca.test"', '0 issue "letsencrypt.org; validationmethods=dns-01"'],
            True,
        ),
    ],
)
def test_caa_rules(records: list[str], permits: bool) -> None:
    assert judge_caa("example.test", records, ["letsencrypt.org"]).permits is permits


# --- lifecycle and schedule ------------------------------------------------------------------


def test_verification_schedules_a_probe_and_a_new_domain_forgets_the_last(
    v1: APIClient, live: KnotServer, storefront: Storefront, label: str
) -> None:
    v1.put("/api/v1/store/storefront", {"customDomain": f"{label}.test"}, format="json")
    storefront.refresh_from_db()
    verify_txt(live, storefront)
    live.set(f"{label}.test", "A", "127.0.0.1")
    live.set(f"www.{label}.test", "CNAME", TARGET + ".")
    assert v1.post("/api/v1/store/storefront/domain/verify").status_code == 200
    storefront.refresh_from_db()
    assert storefront.live_next_check_at <= timezone.now()

    assert storefronts_live_probe_due() == 1
    storefront.refresh_from_db()
    assert storefront.routing_status == "ok"

    v1.put("/api/v1/store/storefront", {"customDomain": f"shop.{label}.test"}, format="json")
    storefront.refresh_from_db()
    assert (storefront.routing_status, storefront.tls_status) == ("unknown", "pending")
    assert (storefront.live_observed, storefront.live_checked_at) == ({}, None)
    assert storefront.live_next_check_at is None


def test_beat_claims_only_due_verified_domains(
    live: KnotServer, storefront: Storefront, trio: OrgTrio, label: str
) -> None:
    from storefronts.services import store_create

    due = apex(live, storefront, label)
    later = verified(store_create(organization=trio.organization, name="B", slug="b"), "b.test")
    Storefront.objects.filter(pk=later.pk).update(
        live_next_check_at=timezone.now() + timedelta(hours=1)
    )
    unverified = store_create(organization=trio.organization, name="C", slug="c")
    Storefront.objects.filter(pk=unverified.pk).update(custom_domain=f"c{label}.test")

    claimed = storefronts_live_probe_due()

    assert claimed == 1
    due.refresh_from_db()
    assert due.live_checked_at is not None
    assert due.routing_status == "ok"
    assert Storefront.objects.get(pk=later.pk).live_checked_at is None
    assert Storefront.objects.get(pk=unverified.pk).live_next_check_at is None
    assert storefronts_live_probe_due() == 0  # the probed one is not due again


def test_beat_skips_a_stored_name_that_no_longer_validates_and_probes_the_rest(
    live: KnotServer, storefront: Storefront, trio: OrgTrio, label: str
) -> None:
    from storefronts.services import store_create

    good = apex(live, storefront, label)
    bad = verified(store_create(organization=trio.organization, name="B", slug="b"), "b.test")
    Storefront.objects.filter(pk=bad.pk).update(
        custom_domain="bad_name.test", custom_domain_pair=None
    )

    assert storefronts_live_probe_due() == 2

    assert Storefront.objects.get(pk=good.pk).routing_status == "ok"
    bad.refresh_from_db()
    assert (bad.live_checked_at, bad.live_observed) == (None, {})
    assert bad.live_next_check_at > timezone.now() + LIVE_RETRY_EVERY  # the lease brings it back


@pytest.mark.parametrize("field", ["live_next_check_at", "domain_next_check_at"])
def test_both_jobs_claim_never_checked_domains_first_and_lease_them(
    storefront: Storefront, trio: OrgTrio, field: str
) -> None:
    from storefronts.services import claim_verified_due, store_create

    overdue = verified(store_create(organization=trio.organization, name="B", slug="b"), "b.test")
    never = verified(storefront)
    Storefront.objects.filter(pk=overdue.pk).update(**{field: timezone.now() - LONG_AGO})
    Storefront.objects.filter(pk=never.pk).update(**{field: None})
    lease = timedelta(minutes=7)

    first = claim_verified_due(field=field, lease=lease, limit=1)
    second = claim_verified_due(field=field, lease=lease, limit=5)

    assert (first, second) == ([never.pk], [overdue.pk])
    leased = getattr(Storefront.objects.get(pk=never.pk), field) - timezone.now()
    assert timedelta(minutes=6) < leased <= lease
    assert claim_verified_due(field=field, lease=lease, limit=5) == []


def test_the_beat_schedule_and_the_cron_endpoint(
    live: KnotServer, storefront: Storefront, label: str, settings
) -> None:
    from config.celery import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["storefronts-live-probe"]["task"] == "storefronts.probe_live_status"
    apex(live, storefront, label)
    settings.CRON_SECRET = "cron-secret-for-tests"

    response = Client().post(
        "/api/cron/storefront-live-probe", HTTP_AUTHORIZATION="Bearer cron-secret-for-tests"
    )

    assert response.status_code == 200
    assert response.json()["data"]["probed"] == 1
    assert Storefront.objects.get(pk=storefront.pk).routing_status == "ok"


@pytest.mark.parametrize(("budget", "probed"), [(60, 2), (0, 1)])
def test_beat_and_cron_probe_batch_after_batch_within_the_budget(
    live: KnotServer,
    storefront: Storefront,
    trio: OrgTrio,
    label: str,
    monkeypatch,
    budget: int,
    probed: int,
) -> None:
    from storefronts import live as live_module
    from storefronts.services import store_create

    monkeypatch.setattr(live_module, "LIVE_PROBE_BATCH", 1)
    apex(live, storefront, label)
    apex(live, store_create(organization=trio.organization, name="B", slug="b"), f"b{label}")

    assert live_module.storefronts_live_probe_sweep(budget_seconds=budget) == {"probed": probed}
    assert Storefront.objects.filter(live_checked_at__isnull=False).count() == probed


@pytest.mark.parametrize(("budget", "checked"), [(None, 2), (60, 2), (0, 1)])
def test_the_recheck_sweeps_batch_after_batch_within_a_budget(
    storefront: Storefront, trio: OrgTrio, monkeypatch, budget: float | None, checked: int
) -> None:
    """Beat drains what is due (no budget); a cron call, an HTTP request, stops taking new
    batches after its budget, and the rest is due at the next call."""
    from storefronts import services
    from storefronts.services import store_create, storefronts_recheck_sweep

    monkeypatch.setattr(services, "RECHECK_BATCH", 1)
    monkeypatch.setattr(services, "storefront_recheck_domain", lambda storefront: "ok")
    verified(storefront, "a-store.test")
    verified(store_create(organization=trio.organization, name="B", slug="b"), "b-store.test")

    assert storefronts_recheck_sweep(budget_seconds=budget) == {
        "checked": checked,
        "holds_expired": 0,
    }


def test_the_cron_jobs_sweep_within_a_request_sized_budget(monkeypatch, settings) -> None:
    from config import cron

    seen = {}
    monkeypatch.setattr(
        "storefronts.services.storefronts_recheck_sweep",
        lambda budget_seconds=None: seen.setdefault("recheck", budget_seconds) and {},
    )
    monkeypatch.setattr(
        "storefronts.live.storefronts_live_probe_sweep",
        lambda budget_seconds=None: seen.setdefault("live", budget_seconds) and {},
    )

    cron.JOBS["storefront-recheck"]()
    cron.JOBS["storefront-live-probe"]()

    assert seen == {"recheck": cron.CRON_SWEEP_SECONDS, "live": cron.CRON_SWEEP_SECONDS}
    assert cron.CRON_SWEEP_SECONDS <= 25  # under gunicorn's default 30 s worker timeout


def test_the_recheck_cron_job_reports_what_it_did(storefront: Storefront, settings) -> None:
    settings.CRON_SECRET = "cron-secret-for-tests"

    response = Client().post(
        "/api/cron/storefront-recheck", HTTP_AUTHORIZATION="Bearer cron-secret-for-tests"
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["checked"], data["holds_expired"]) == (0, 0)


# --- the API ----------------------------------------------------------------------------


def test_get_shows_the_live_status(
    v1: APIClient, live: KnotServer, storefront: Storefront, label: str
) -> None:
    probed_under_a_blocking_caa(live, storefront, label)

    response = v1.get(URL)

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {
        "customDomain",
        "customDomainVerified",
        "customDomainPair",
        "primaryHost",
        "routingStatus",
        "tlsStatus",
        "hint",
        "fix",
        "observed",
        "checkedAt",
    }
    assert (data["customDomain"], data["customDomainVerified"]) == (f"{label}.test", True)
    assert (data["routingStatus"], data["tlsStatus"]) == ("ok", "pending")
    assert data["hint"] == "caa_blocks_issuance"
    assert '0 issue "letsencrypt.org"' in data["fix"]
    assert data["observed"]["caa"]["records"] == ['0 issue "example-ca.test"']
    assert data["checkedAt"].startswith(str(timezone.now().year))


def test_get_for_a_domain_not_verified(v1: APIClient, storefront: Storefront) -> None:
    v1.put("/api/v1/store/storefront", {"customDomain": "mystore.com"}, format="json")

    data = v1.get(URL).json()["data"]

    assert (data["routingStatus"], data["tlsStatus"], data["hint"]) == ("unknown", "pending", None)
    assert (data["observed"], data["checkedAt"]) == ({}, None)


def test_post_probes_now(
    v1: APIClient, live: KnotServer, storefront: Storefront, label: str, ca: ThrowawayCA, serve
) -> None:
    storefront = apex(live, storefront, label)
    serve(ca.issue(storefront.custom_domain))

    response = v1.post(f"{URL}/probe")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Live status checked."
    assert (body["data"]["routingStatus"], body["data"]["tlsStatus"]) == ("ok", "active")


def test_post_for_a_domain_not_verified_or_absent(v1: APIClient, storefront: Storefront) -> None:
    none = v1.post(f"{URL}/probe")
    v1.put("/api/v1/store/storefront", {"customDomain": "mystore.com"}, format="json")
    unverified = v1.post(f"{URL}/probe")

    assert (none.status_code, none.json()["code"]) == (400, "DOMAIN_NOT_CONFIGURED")
    assert (unverified.status_code, unverified.json()["code"]) == (400, "DOMAIN_NOT_VERIFIED")


def test_post_when_dns_gives_no_answer_is_retryable(
    v1: APIClient, live: KnotServer, storefront: Storefront, label: str
) -> None:
    verified(storefront, f"shop.{label}.broken.test")

    response = v1.post(f"{URL}/probe")

    assert (response.status_code, response.json()["code"]) == (503, "DNS_UNAVAILABLE")


def test_post_for_a_stored_name_that_no_longer_validates(
    v1: APIClient, storefront: Storefront
) -> None:
    verified(storefront)
    Storefront.objects.filter(pk=storefront.pk).update(custom_domain="bad_name.test")

    response = v1.post(f"{URL}/probe")

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_DOMAIN")
    assert Storefront.objects.get(pk=storefront.pk).live_observed == {}


def test_post_spends_the_diagnose_budget(
    v1: APIClient, live: KnotServer, storefront: Storefront, label: str, settings
) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | {"diagnose": "1/min"}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": rates}
    apex(live, storefront, label)

    first, second = v1.post(f"{URL}/probe"), v1.post(f"{URL}/probe")

    assert (first.status_code, second.status_code) == (200, 429)


def test_staff_can_read_the_status_but_not_probe(
    staff_session: APIClient, storefront: Storefront
) -> None:
    verified(storefront)

    assert staff_session.get(INTERNAL).status_code == 200
    refused = staff_session.post(f"{INTERNAL}/probe")
    assert refused.status_code == 403
    assert Storefront.objects.get(pk=storefront.pk).live_observed == {}


@pytest.mark.parametrize(("method", "path"), [("get", URL), ("post", f"{URL}/probe")])
def test_another_organization_gets_404(
    outsider_v1: APIClient, storefront: Storefront, method: str, path: str
) -> None:
    verified(storefront)

    response = getattr(outsider_v1, method)(path)

    assert (response.status_code, response.json()["code"]) == (404, "STORE_NOT_FOUND")
    assert Storefront.objects.get(pk=storefront.pk).live_observed == {}


def test_the_endpoints_are_in_the_schema(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert "get" in schema["paths"]["/api/v1/store/storefront/domain"]
    assert "post" in schema["paths"]["/api/v1/store/storefront/domain/probe"]


# --- the dashboard ----------------------------------------------------------------------


def test_the_dashboard_shows_the_badges_the_hint_and_the_record_to_add(
    owner_session: Client, live: KnotServer, storefront: Storefront, label: str
) -> None:
    probed_under_a_blocking_caa(live, storefront, label)

    response = owner_session.get(PAGE)

    content = response.content.decode()
    assert '<span class="badge ok">Ok</span>' in content
    assert '<span class="badge pending">Pending</span>' in content
    assert "<code>caa_blocks_issuance</code>" in content
    assert 'data-copy="0 issue &quot;letsencrypt.org&quot;"' in content
    assert "<code>0 issue &quot;example-ca.test&quot;</code>" in content
    assert 'action="/overview/storefront/probe"' in content


def test_the_dashboard_shows_a_misconfigured_routing_as_a_failure(
    owner_session: Client, live: KnotServer, storefront: Storefront, label: str
) -> None:
    live.set(f"{label}.test", "TXT", '"v=spf1 -all"')
    probed(verified(storefront, f"{label}.test"))

    content = owner_session.get(PAGE).content.decode()

    assert '<span class="badge failed">Misconfigured</span>' in content
    assert "<code>not_found</code>" in content


def test_the_dashboard_shows_both_names_of_a_www_pair(
    owner_session: Client, live: KnotServer, storefront: Storefront, label: str
) -> None:
    probed(apex(live, storefront, label))

    content = owner_session.get(PAGE).content.decode()

    assert f"A at <code>{label}.test</code>" in content
    assert f"CNAME at <code>www.{label}.test</code>" in content
    assert f"expected <code>{TARGET}</code>, seen <code>{TARGET}</code>" in content


def test_the_dashboard_shows_a_failed_attempt_and_when_it_is_retried(
    owner_session: Client, live: KnotServer, storefront: Storefront, label: str
) -> None:
    storefront = verified(storefront, f"shop.{label}.broken.test")  # the server SERVFAILs
    assert storefront_live_probe(storefront=storefront) == "transient"

    content = owner_session.get(PAGE).content.decode()

    minutes = int(LIVE_RETRY_EVERY.total_seconds() // 60)
    assert f"nothing changed, retried in {minutes} minutes" in content


def test_check_now_probes_and_comes_back(
    owner_session: Client, live: KnotServer, storefront: Storefront, label: str
) -> None:
    apex(live, storefront, label)

    response = owner_session.post(f"{PAGE}/probe")

    assert (response.status_code, response["Location"]) == (302, PAGE)
    assert Storefront.objects.get(pk=storefront.pk).routing_status == "ok"
    assert b"Live status checked." in owner_session.get(PAGE).content


def test_staff_sees_the_status_without_check_now_and_cannot_post_it(
    staff_session: Client, storefront: Storefront
) -> None:
    verified(storefront)

    page = staff_session.get(PAGE)
    refused = staff_session.post(f"{PAGE}/probe")

    assert b"Live status" in page.content
    assert b'action="/overview/storefront/probe"' not in page.content
    assert refused.status_code == 403
    assert Storefront.objects.get(pk=storefront.pk).live_observed == {}
