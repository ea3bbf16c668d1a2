"""Reclaim by proof: a store takes over a domain another store holds (verified, or reserved
after letting it go) only when its own token is published and the holder's is definitely
gone; the holder is told and falls back to its slug. A verified domain a store lets go
stays reserved to it for CUSTOM_DOMAIN_HOLD_DAYS."""

import threading
import time
from datetime import datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from storefronts import services
from storefronts.models import CustomDomainHold, Storefront
from storefronts.services import (
    store_create,
    storefront_recheck_domain,
    storefront_update,
    storefront_verify_domain,
)
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer, free_port
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/store/storefront"
CLAIM = "/api/v1/store/storefront/domain/claim"
VERIFY = "/api/v1/store/storefront/domain/verify"
PUBLIC = "/api/v1/public/storefronts"
TAKEN = "This domain is already in use by another store."


def txt_name(domain: str) -> str:
    return f"_sendy-verify.{domain}"


def txt_value(storefront: Storefront) -> str:
    return f"sendy-verify={storefront.custom_domain_verification_token}"


def publish_only(dns: KnotServer, domain: str, *fronts: Storefront) -> None:
    """The TXT record set at the ownership name holds exactly these stores' tokens."""
    dns.set(txt_name(domain), "TXT", *(f'"{txt_value(f)}"' for f in fronts))


@pytest.fixture
def domain(label: str) -> str:
    return f"{label}.example.test"


@pytest.fixture
def old_store(trio: OrgTrio, outsider_v1: APIClient, dns: KnotServer, domain: str) -> Storefront:
    """Store A, in another organization, published, with `domain` verified through the API."""
    front = store_create(organization=trio.other_organization, name="Old", slug="old-store")
    Storefront.objects.filter(pk=front.pk).update(published=True)
    assert outsider_v1.put(SETTINGS, {"customDomain": domain}, format="json").status_code == 200
    front.refresh_from_db()
    publish_only(dns, domain, front)
    assert outsider_v1.post(VERIFY).status_code == 200
    front.refresh_from_db()
    assert front.custom_domain_verified
    mail.outbox.clear()
    return front


def claim(client: APIClient, domain: str) -> dict:
    response = client.post(CLAIM, {"customDomain": domain}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def mine(storefront: Storefront) -> Storefront:
    storefront.refresh_from_db()
    return storefront


# --- the 409 tells how to start a claim -------------------------------------------------------


@pytest.mark.parametrize(
    ("surface", "path"),
    [("v1", "/api/v1/store/storefront"), ("internal", "/api/internal/store/storefront")],
)
def test_the_409_says_how_to_start_a_claim(
    v1: APIClient,
    owner_session: APIClient,
    storefront: Storefront,
    old_store: Storefront,
    domain: str,
    surface: str,
    path: str,
) -> None:
    client = v1 if surface == "v1" else owner_session

    response = client.put(path, {"customDomain": domain.upper() + "."}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert (body["success"], body["code"]) == (False, "CUSTOM_DOMAIN_TAKEN")
    if surface == "v1":
        assert body["message"] == TAKEN
    assert body["claim"]["method"] == "POST"
    assert body["claim"]["path"] == f"{path}/domain/claim"
    assert "verify" in body["claim"]["description"]
    assert mine(storefront).custom_domain is None


# --- claim ------------------------------------------------------------------------------------


def test_claim_sets_the_domain_unverified_and_says_what_to_publish_and_remove(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str
) -> None:
    response = v1.post(CLAIM, {"customDomain": f"  {domain.upper()}. "}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == (
        "Domain claimed. Publish your TXT record, remove the other one, then verify."
    )
    data = body["data"]
    storefront = mine(storefront)
    assert data == {
        "customDomain": domain,
        "customDomainVerified": False,
        "customDomainVerificationToken": storefront.custom_domain_verification_token,
        "customDomainTarget": "127.0.0.1",
        "publish": {"type": "TXT", "hostname": txt_name(domain), "value": txt_value(storefront)},
        "remove": {"type": "TXT", "hostname": txt_name(domain), "value": txt_value(old_store)},
    }
    # Nothing says which store holds it: only its DNS value, which is public anyway.
    text = response.content.decode()
    for secret in ("old-store", str(old_store.pk), str(old_store.store.organization_id)):
        assert secret not in text
    assert mine(old_store).custom_domain_verified is True
    assert APIClient().get(f"{PUBLIC}/{domain}").json()["data"]["slug"] == "old-store"


def test_claim_of_a_domain_nobody_holds_has_nothing_to_remove(
    v1: APIClient, storefront: Storefront, domain: str
) -> None:
    response = v1.post(CLAIM, {"customDomain": domain}, format="json")

    assert response.json()["message"] == "Domain claimed. Publish your TXT record, then verify."
    assert response.json()["data"]["remove"] is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"customDomain": ""}, "VALIDATION_ERROR"),
        ({}, "VALIDATION_ERROR"),
        ({"customDomain": "co.uk"}, "PUBLIC_SUFFIX"),
        ({"customDomain": "1.2.3.4"}, "IP_LITERAL"),
        ({"customDomain": "x.example.test", "extra": 1}, "VALIDATION_ERROR"),
    ],
)
def test_claim_refuses_bad_input_with_a_code(
    v1: APIClient, storefront: Storefront, body: dict, code: str
) -> None:
    response = v1.post(CLAIM, body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert mine(storefront).custom_domain is None


def test_staff_cannot_claim(staff_session: APIClient, storefront: Storefront) -> None:
    response = staff_session.post(
        "/api/internal/store/storefront/domain/claim", {"customDomain": "x.com"}, format="json"
    )

    assert response.status_code == 403
    assert mine(storefront).custom_domain is None


def test_an_organization_without_a_store_cannot_claim(
    outsider_v1: APIClient, storefront: Storefront
) -> None:
    response = outsider_v1.post(CLAIM, {"customDomain": "x.com"}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "STORE_NOT_FOUND")


def test_the_claim_endpoint_is_in_the_schema(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert "post" in schema["paths"][CLAIM]


# --- reclaim by proof -------------------------------------------------------------------------


def test_reclaim_by_proof_moves_the_domain_and_tells_the_old_store(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str, dns: KnotServer
) -> None:
    claim(v1, domain)
    storefront = mine(storefront)
    publish_only(dns, domain, storefront)  # ours in, theirs out

    response = v1.post(VERIFY)

    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Custom domain verified successfully."
    assert response.json()["data"] == {
        "customDomain": domain,
        "customDomainVerified": True,
        "customDomainVerificationToken": storefront.custom_domain_verification_token,
        "customDomainTarget": "127.0.0.1",
    }
    old = mine(old_store)
    assert (old.custom_domain, old.custom_domain_verification_token) == (None, None)
    assert old.custom_domain_verified is False
    # The live status goes with the domain: the old store's is forgotten, ours probed soon.
    assert (old.live_next_check_at, old.live_observed) == (None, {})
    assert mine(storefront).live_next_check_at is not None
    # The old store's organization is told: webhook, audit, email to its owners.
    other_org = old_store.store.organization_id
    event = WebhookEvent.objects.get(type="storefront.domain_reclaimed")
    assert event.organization_id == other_org
    obj = event.payload["data"]["object"]
    assert (obj["id"], obj["reclaimed_domain"], obj["custom_domain"]) == (
        str(old_store.pk),
        domain,
        None,
    )
    assert event.payload["data"]["previous_attributes"] == {
        "custom_domain": domain,
        "custom_domain_verified": True,
    }
    audit = AuditEvent.objects.get(action="storefront.domain_reclaimed")
    assert audit.organization_id == other_org
    assert audit.metadata == {"domain": domain, "held": False}
    [email] = mail.outbox
    assert email.to == ["outsider@globex.test"]
    assert domain in email.subject
    assert "old-store" in email.body
    assert "mystore" not in email.body  # who took it is not told
    # The new store gets the usual event, marked as a reclaim in the audit log.
    verified = AuditEvent.objects.filter(action="storefront.domain_verified").latest("sequence")
    assert verified.organization_id == storefront.store.organization_id
    assert verified.metadata == {"reclaimed": True}
    assert WebhookEvent.objects.filter(
        type="storefront.domain_verified", organization_id=storefront.store.organization_id
    ).exists()
    # The domain serves the new store; the old one is still at its slug.
    public = APIClient()
    assert public.get(f"{PUBLIC}/{domain}").json()["data"]["slug"] == "mystore"
    assert Client(HTTP_HOST=domain).get("/api/v1/public/storefront").json()["data"]["slug"] == (
        "mystore"
    )
    assert public.get(f"{PUBLIC}/old-store").json()["data"]["customDomain"] is None


def test_no_proof_while_the_old_token_is_still_published(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str, dns: KnotServer
) -> None:
    claim(v1, domain)
    storefront = mine(storefront)
    publish_only(dns, domain, old_store, storefront)

    response = v1.post(VERIFY)

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["message"]) == ("CUSTOM_DOMAIN_TAKEN", TAKEN)
    reclaim = body["reclaim"]
    assert reclaim["missing"] == ["removeOtherRecord"]
    assert reclaim["publish"]["found"] is True
    assert (reclaim["remove"]["value"], reclaim["remove"]["gone"]) == (
        txt_value(old_store),
        False,
    )
    assert "still published" in reclaim["fix"]
    assert mine(old_store).custom_domain_verified is True
    assert mine(storefront).custom_domain_verified is False
    assert not WebhookEvent.objects.filter(type="storefront.domain_reclaimed").exists()


def test_no_proof_while_our_token_is_not_published(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str, dns: KnotServer
) -> None:
    claim(v1, domain)
    storefront = mine(storefront)
    dns.delete(txt_name(domain), "TXT")  # theirs gone, ours not there yet

    response = v1.post(VERIFY)

    assert response.status_code == 409
    reclaim = response.json()["reclaim"]
    assert reclaim["missing"] == ["publishYourRecord"]
    assert (reclaim["publish"]["found"], reclaim["publish"]["hint"]) == (False, "token_missing")
    assert reclaim["remove"]["gone"] is True
    assert txt_value(storefront) in reclaim["fix"]
    assert mine(old_store).custom_domain_verified is True


def test_a_miss_only_the_resolver_saw_is_no_proof(
    v1: APIClient,
    storefront: Storefront,
    old_store: Storefront,
    domain: str,
    dns: KnotServer,
    settings,
) -> None:
    claim(v1, domain)
    dns.delete(txt_name(domain), "TXT")
    # The resolver answers (nothing there), the zone's own nameservers do not.
    settings.DNS_AUTHORITATIVE_PORT = free_port()
    settings.DNS_TIMEOUT = 0.5

    response = v1.post(VERIFY)

    assert response.status_code == 409
    reclaim = response.json()["reclaim"]
    assert "removeOtherRecord" in reclaim["missing"]
    assert (reclaim["remove"]["gone"], reclaim["remove"]["hint"]) == (False, "token_missing")
    assert "not proven gone" in reclaim["fix"]
    assert mine(old_store).custom_domain_verified is True


def test_dns_that_does_not_answer_is_retryable_and_changes_nothing(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str, settings
) -> None:
    claim(v1, domain)
    settings.DNS_NAMESERVERS = f"127.0.0.1:{free_port()}"
    settings.DNS_TIMEOUT = 0.3

    response = v1.post(VERIFY)

    assert (response.status_code, response.json()["code"]) == (503, "DNS_UNAVAILABLE")
    assert mine(old_store).custom_domain_verified is True


def test_proof_about_a_token_the_holder_no_longer_has_is_stale(
    v1: APIClient,
    storefront: Storefront,
    old_store: Storefront,
    domain: str,
    dns: KnotServer,
    monkeypatch,
) -> None:
    """Between our DNS check and the transfer, the old store set the domain again and
    verified a new token: the proof was about the old one, so nothing moves."""
    claim(v1, domain)
    storefront = mine(storefront)
    publish_only(dns, domain, storefront)
    real_check = services._check

    def then_the_holder_reverifies(records):
        results = real_check(records)
        storefront_update(storefront=old_store, custom_domain=None)
        again = storefront_update(storefront=old_store, custom_domain=domain)
        Storefront.objects.filter(pk=again.pk).update(custom_domain_verified=True)
        return results

    monkeypatch.setattr(services, "_check", then_the_holder_reverifies)

    response = v1.post(VERIFY)

    assert response.status_code == 409
    old = mine(old_store)
    assert old.custom_domain_verified is True
    assert response.json()["reclaim"]["remove"]["value"] == txt_value(old)
    assert mine(storefront).custom_domain_verified is False


# --- the race with the old store's re-check has one winner ------------------------------------


def _due_to_unverify(storefront: Storefront) -> Storefront:
    """Two definite misses over more than 48 hours: the next re-check unverifies."""
    Storefront.objects.filter(pk=storefront.pk).update(
        domain_missing_checks=2, domain_first_missing_at=timezone.now() - timedelta(hours=49)
    )
    return mine(storefront)


def test_a_recheck_after_the_reclaim_changes_nothing(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str, dns: KnotServer
) -> None:
    claim(v1, domain)
    publish_only(dns, domain, mine(storefront))
    stale = _due_to_unverify(old_store)  # as the re-check loaded it, before the reclaim

    assert v1.post(VERIFY).status_code == 200
    assert storefront_recheck_domain(storefront=stale) == "transient"

    assert not WebhookEvent.objects.filter(type="storefront.domain_unverified").exists()
    assert mine(storefront).custom_domain_verified is True


def test_a_reclaim_after_the_recheck_unverified_is_a_plain_verify(
    v1: APIClient, storefront: Storefront, old_store: Storefront, domain: str, dns: KnotServer
) -> None:
    claim(v1, domain)
    publish_only(dns, domain, mine(storefront))
    assert storefront_recheck_domain(storefront=_due_to_unverify(old_store)) == "unverified"

    assert v1.post(VERIFY).status_code == 200

    assert not WebhookEvent.objects.filter(type="storefront.domain_reclaimed").exists()
    assert mine(old_store).custom_domain == domain  # its unverified claim blocks nobody


def lock_waiter_behind(pid: int, *, within: float = 10.0) -> bool:
    """Whether another connection comes to wait for a lock the backend `pid` holds (polled
    from this thread's own connection: a snapshot of pg_stat_activity per statement)."""
    deadline = time.monotonic() + within
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
                [pid],
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)  # polling for a state, not ordering anything
    return False


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["reclaim", "recheck"])
def test_a_reclaim_racing_the_old_stores_recheck_has_one_winner(
    trio: OrgTrio, dns: KnotServer, label: str, monkeypatch, first: str
) -> None:
    """Both look at DNS, then both write on what they saw, overlapping: `first` stops inside
    its transaction with the old store's row locked (the reclaim once it has locked both
    rows, the re-check once it has unverified) until the other is seen waiting for that lock,
    then commits. The reclaim first: it takes the domain, and the re-check behind it finds
    nothing left to unverify. The re-check first: it unverifies, and the reclaim behind it
    reads the rows again and is a plain verify. Never both, one store with the domain."""
    domain = f"{label}.example.test"
    old = store_create(organization=trio.other_organization, name="Old", slug=f"old-{first}")
    new = store_create(organization=trio.organization, name="New", slug=f"new-{first}")
    old = storefront_update(storefront=old, custom_domain=domain)
    publish_only(dns, domain, old)
    storefront_verify_domain(storefront=old)
    new = services.storefront_claim_domain(storefront=new, custom_domain=domain).storefront
    publish_only(dns, domain, new)
    old = _due_to_unverify(old)
    looked = threading.Barrier(2)
    holding = threading.Event()
    release = threading.Event()
    holder_pids: list[int] = []
    real_check = services._check

    def looked_together(records):
        results = real_check(records)
        looked.wait(timeout=20)  # both have their evidence before either writes
        if threading.current_thread().name != first:
            holding.wait(timeout=20)  # and the other writes only once `first` holds the row
        return results

    def hold_until_the_other_waits() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            holder_pids.append(cursor.fetchone()[0])
        holding.set()
        release.wait(timeout=30)

    monkeypatch.setattr(services, "_check", looked_together)
    if first == "reclaim":
        real_holder = services.domain_holder

        def domain_holder(name, *, besides):
            if connection.in_atomic_block and not holding.is_set():  # _reclaim, rows locked
                hold_until_the_other_waits()
            return real_holder(name, besides=besides)

        monkeypatch.setattr(services, "domain_holder", domain_holder)
    else:
        real_announce = services._announce

        def announce(storefront, event, *args, **kwargs):
            if event == "storefront.domain_unverified":  # the re-check, its UPDATE done
                hold_until_the_other_waits()
            return real_announce(storefront, event, *args, **kwargs)

        monkeypatch.setattr(services, "_announce", announce)
    outcomes: dict[str, str] = {}

    def run(name: str, work) -> None:
        try:
            outcomes[name] = work()
        except Exception as exc:
            outcomes[name] = getattr(exc, "code", repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(
            name="reclaim",
            target=run,
            args=("reclaim", lambda: storefront_verify_domain(storefront=new).slug),
        ),
        threading.Thread(
            name="recheck",
            target=run,
            args=("recheck", lambda: storefront_recheck_domain(storefront=old)),
        ),
    ]
    for t in threads:
        t.start()
    try:
        assert holding.wait(timeout=30), f"the {first} never got inside its transaction"
        queued = lock_waiter_behind(holder_pids[0])
    finally:
        release.set()
        for t in threads:
            t.join(timeout=60)
    assert queued, f"the other writer never waited for the {first}'s lock"

    assert outcomes == {
        "reclaim": new.slug,
        "recheck": "transient" if first == "reclaim" else "unverified",
    }
    reclaimed = WebhookEvent.objects.filter(type="storefront.domain_reclaimed").count()
    unverified = WebhookEvent.objects.filter(type="storefront.domain_unverified").count()
    assert (reclaimed, unverified) == ((1, 0) if first == "reclaim" else (0, 1))
    holders = Storefront.objects.filter(custom_domain=domain, custom_domain_verified=True)
    assert list(holders.values_list("pk", flat=True)) == [new.pk]
    loser = Storefront.objects.get(pk=old.pk)
    assert loser.custom_domain == (None if first == "reclaim" else domain)
    assert loser.custom_domain_verified is False


# --- the hold ---------------------------------------------------------------------------------


def let_go(client: APIClient, holder: Storefront) -> datetime:
    """The holder clears its verified domain at a frozen moment, which puts the domain on
    hold for it; returns that moment."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        response = client.put(SETTINGS, {"customDomain": None}, format="json")
    assert response.status_code == 200, response.json()
    assert CustomDomainHold.objects.filter(storefront=holder).exists()
    return start


def test_a_verified_domain_let_go_is_held_for_its_store_for_seven_days(
    v1: APIClient,
    outsider_v1: APIClient,
    storefront: Storefront,
    old_store: Storefront,
    domain: str,
    dns: KnotServer,
) -> None:
    start = let_go(outsider_v1, old_store)
    hold = CustomDomainHold.objects.get()
    assert (hold.domain, hold.storefront_id, hold.until) == (
        domain,
        old_store.pk,
        start + timedelta(days=7),
    )
    assert hold.token == old_store.custom_domain_verification_token
    cleared = AuditEvent.objects.filter(action="storefront.domain_cleared").latest("sequence")
    assert cleared.metadata == {"held_until": hold.until.isoformat()}

    with time_machine.travel(start + timedelta(days=6)):
        blocked = v1.put(SETTINGS, {"customDomain": domain.upper()}, format="json")
    with time_machine.travel(start + timedelta(days=8)):
        free = v1.put(SETTINGS, {"customDomain": domain}, format="json")
        publish_only(dns, domain, old_store, mine(storefront))  # the old token is irrelevant now
        verified = v1.post(VERIFY)

    assert (blocked.status_code, blocked.json()["code"]) == (409, "CUSTOM_DOMAIN_TAKEN")
    assert blocked.json()["claim"]["path"] == CLAIM
    assert free.status_code == 200
    assert verified.status_code == 200
    assert not WebhookEvent.objects.filter(type="storefront.domain_reclaimed").exists()


def test_changing_a_verified_domain_holds_the_old_one(
    v1: APIClient, outsider_v1: APIClient, storefront: Storefront, old_store: Storefront
) -> None:
    outsider_v1.put(SETTINGS, {"customDomain": "elsewhere.example.test"}, format="json")

    assert CustomDomainHold.objects.get().domain == old_store.custom_domain
    assert v1.put(
        SETTINGS, {"customDomain": old_store.custom_domain}, format="json"
    ).status_code == (409)


def test_an_unverified_domain_let_go_is_not_held(
    v1: APIClient, outsider_v1: APIClient, trio: OrgTrio, storefront: Storefront
) -> None:
    store_create(organization=trio.other_organization, name="Old", slug="old-store")
    taken = outsider_v1.put(SETTINGS, {"customDomain": "pending.example.test"}, format="json")
    assert taken.status_code == 200
    assert outsider_v1.put(SETTINGS, {"customDomain": None}, format="json").status_code == 200

    assert not CustomDomainHold.objects.exists()
    assert v1.put(
        SETTINGS, {"customDomain": "pending.example.test"}, format="json"
    ).status_code == (200)


def test_the_holder_may_take_it_again_which_ends_the_hold(
    v1: APIClient,
    outsider_v1: APIClient,
    storefront: Storefront,
    old_store: Storefront,
    domain: str,
    dns: KnotServer,
) -> None:
    first_token = old_store.custom_domain_verification_token
    start = let_go(outsider_v1, old_store)
    with time_machine.travel(start + timedelta(days=3)):
        again = outsider_v1.put(SETTINGS, {"customDomain": domain.upper() + "."}, format="json")
        publish_only(dns, domain, mine(old_store))
        reverified = outsider_v1.post(VERIFY)

    assert again.status_code == 200
    assert again.json()["data"]["customDomainVerificationToken"] != first_token  # the contract
    assert reverified.status_code == 200
    assert not CustomDomainHold.objects.exists()


def test_reclaim_by_proof_during_the_hold(
    v1: APIClient,
    outsider_v1: APIClient,
    storefront: Storefront,
    old_store: Storefront,
    domain: str,
    dns: KnotServer,
) -> None:
    start = let_go(outsider_v1, old_store)
    with time_machine.travel(start + timedelta(days=2)):
        claimed = claim(v1, domain)
        publish_only(dns, domain, old_store, mine(storefront))
        refused = v1.post(VERIFY)
        publish_only(dns, domain, mine(storefront))
        taken = v1.post(VERIFY)

    assert claimed["remove"]["value"] == txt_value(old_store)  # the token the hold keeps
    assert refused.status_code == 409
    assert refused.json()["reclaim"]["missing"] == ["removeOtherRecord"]
    assert taken.status_code == 200
    assert not CustomDomainHold.objects.exists()
    audit = AuditEvent.objects.get(action="storefront.domain_reclaimed")
    assert (audit.organization_id, audit.metadata) == (
        old_store.store.organization_id,
        {"domain": domain, "held": True},
    )
    assert [m.to for m in mail.outbox] == [["outsider@globex.test"]]
    assert APIClient().get(f"{PUBLIC}/{domain}").json()["data"]["slug"] == "mystore"


def test_expired_holds_are_deleted_by_the_hourly_job(
    outsider_v1: APIClient, old_store: Storefront
) -> None:
    from storefronts.tasks import recheck_domains

    start = let_go(outsider_v1, old_store)
    with time_machine.travel(start + timedelta(days=6)):
        recheck_domains()
        kept = CustomDomainHold.objects.count()
    with time_machine.travel(start + timedelta(days=7, minutes=1)):
        recheck_domains()

    assert kept == 1
    assert not CustomDomainHold.objects.exists()


def test_holds_are_off_with_zero_days(
    v1: APIClient, outsider_v1: APIClient, storefront: Storefront, old_store: Storefront, settings
) -> None:
    settings.CUSTOM_DOMAIN_HOLD_DAYS = 0
    assert outsider_v1.put(SETTINGS, {"customDomain": None}, format="json").status_code == 200

    assert not CustomDomainHold.objects.exists()
    assert v1.put(
        SETTINGS, {"customDomain": old_store.custom_domain}, format="json"
    ).status_code == (200)


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_offers_the_claim_and_takes_the_domain_over(
    owner_session: Client, storefront: Storefront, old_store: Storefront, domain: str, dns
) -> None:
    page = "/overview/storefront"
    form = {"slug": "mystore", "published": "on", "custom_domain": domain}

    refused = owner_session.post(page, form)

    assert refused.status_code == 400
    assert refused.context["form"].errors == {"custom_domain": [TAKEN]}
    content = refused.content.decode()
    assert 'action="/overview/storefront/claim"' in content
    assert f'name="custom_domain" value="{domain}"' in content
    assert "Claim this domain" in content

    claimed = owner_session.post("/overview/storefront/claim", {"custom_domain": domain})

    assert (claimed.status_code, claimed["Location"]) == (302, page)
    shown = owner_session.get(page).content.decode()
    assert "Domain claimed. Publish your TXT record, remove the other one, then verify." in shown
    assert f"<code>{txt_value(old_store)}</code>" in shown  # what must go

    publish_only(dns, domain, mine(storefront))
    verified = owner_session.post("/overview/storefront/verify")

    assert (verified.status_code, verified["Location"]) == (302, page)
    assert mine(storefront).custom_domain_verified is True
    assert mine(old_store).custom_domain is None


def test_the_dashboard_says_what_a_reclaim_still_needs(
    owner_session: Client, storefront: Storefront, old_store: Storefront, domain: str, dns
) -> None:
    owner_session.post("/overview/storefront/claim", {"custom_domain": domain})
    publish_only(dns, domain, old_store, mine(storefront))

    response = owner_session.post("/overview/storefront/verify")

    assert response.status_code == 409
    assert f"<strong>{TAKEN}</strong>" in response.content.decode()
    assert "it is still published" in response.content.decode()


def test_staff_cannot_claim_from_the_dashboard(
    staff_session: Client, storefront: Storefront
) -> None:
    response = staff_session.post("/overview/storefront/claim", {"custom_domain": "x.com"})

    assert response.status_code == 403
    assert mine(storefront).custom_domain is None


def test_a_bad_claim_from_the_dashboard_is_shown_not_a_500(
    owner_session: Client, storefront: Storefront
) -> None:
    response = owner_session.post("/overview/storefront/claim", {"custom_domain": "co.uk"})

    assert response.status_code == 400
    assert "Claim this domain" in response.content.decode()
    assert response.context["claim_form"].errors["custom_domain"]


# --- the admin --------------------------------------------------------------------------------


def test_the_storefront_admin_shows_holds_read_only(
    outsider_v1: APIClient, old_store: Storefront, domain: str
) -> None:
    from tests.test_admin import admin_url, superuser_client

    let_go(outsider_v1, old_store)
    client = superuser_client()

    page = client.get(admin_url(old_store)).content.decode()

    assert domain in page
    assert 'name="domain_holds-TOTAL_FORMS"' in page
    assert 'name="domain_holds-0-domain"' not in page  # shown, not editable
    assert 'name="domain_holds-0-DELETE"' not in page


# --- a `www` pair is one site ----------------------------------------------------------------


@pytest.fixture
def apex_store(trio: OrgTrio, outsider_v1: APIClient, dns: KnotServer, label: str) -> Storefront:
    """Store A with the apex `<label>.test` verified: it serves `www.<label>.test` too."""
    front = store_create(organization=trio.other_organization, name="Old", slug="old-store")
    Storefront.objects.filter(pk=front.pk).update(published=True)
    outsider_v1.put(SETTINGS, {"customDomain": f"{label}.test"}, format="json")
    publish_only(dns, f"{label}.test", mine(front))
    assert outsider_v1.post(VERIFY).status_code == 200
    return mine(front)


def test_the_www_pair_of_a_held_domain_is_reclaimed_against_the_holders_own_record(
    v1: APIClient, storefront: Storefront, apex_store: Storefront, label: str, dns: KnotServer
) -> None:
    www = f"www.{label}.test"
    assert v1.put(SETTINGS, {"customDomain": www}, format="json").status_code == 409

    data = claim(v1, www)

    assert data["publish"]["hostname"] == f"_sendy-verify.{www}"
    assert data["remove"] == {
        "type": "TXT",
        "hostname": f"_sendy-verify.{label}.test",
        "value": txt_value(apex_store),
    }
    publish_only(dns, www, mine(storefront))
    assert v1.post(VERIFY).status_code == 409  # the apex still has the old store's record

    dns.delete(f"_sendy-verify.{label}.test", "TXT")
    response = v1.post(VERIFY)

    assert response.status_code == 200, response.json()
    old = mine(apex_store)
    assert (old.custom_domain, old.custom_domain_pair, old.custom_domain_site) == (None, None, None)
    event = WebhookEvent.objects.get(type="storefront.domain_reclaimed")
    assert event.payload["data"]["object"]["reclaimed_domain"] == f"{label}.test"
    for name in (www, f"{label}.test"):
        assert APIClient().get(f"{PUBLIC}/{name}").json()["data"]["slug"] == "mystore"


def test_a_hold_covers_the_www_pair(
    v1: APIClient, outsider_v1: APIClient, storefront: Storefront, apex_store: Storefront, label
) -> None:
    let_go(outsider_v1, apex_store)

    response = v1.put(SETTINGS, {"customDomain": f"WWW.{label}.test."}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "CUSTOM_DOMAIN_TAKEN")
