"""POST /api/v1/emails and the message log: who may send from which domain, input rules,
the warmup cap (exact under concurrency, given back on failure, reset at UTC midnight),
idempotency, the local provider's DKIM signature checked against the key in DNS, and the
SES region fallback."""

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dkim
import dns.resolver
import pytest
import redis
import time_machine
from django.contrib.admin.utils import quote
from django.core import mail
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Tenant
from audit.models import AuditEvent
from domains.counters import DatabaseSendCounter, RedisSendCounter, send_counter
from domains.mail import OutgoingEmail
from domains.models import Message, SendCount, SendingDomain
from domains.sending import WarmupLimitExceeded, email_send
from domains.services import sending_domain_create, sending_domain_start_warmup
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.domains.conftest import verified
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def domain(trio: OrgTrio, dns: KnotServer, label: str) -> SendingDomain:
    created = sending_domain_create(
        organization=trio.organization, name=f"mail.{label}.example.test"
    )
    return verified(created)


def _body(domain: SendingDomain, **changes: object) -> dict:
    return {
        "from": f"Acme <news@{domain.name}>",
        "to": ["ada@example.org"],
        "subject": "Your receipt",
        "text": "Thanks for your order.",
        "html": "<p>Thanks for your order.</p>",
        **changes,
    }


@pytest.fixture
def smtp(settings) -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    yield sink
    sink.stop()


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


# --- sending ------------------------------------------------------------------------------


def test_it_sends_from_a_verified_domain(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.post("/api/v1/emails", _body(domain, cc=["b@example.org"]), format="json")

    data = response.json()["data"]
    assert response.status_code == 201, response.content
    assert data["id"].startswith("msg_")
    assert (data["status"], data["domain_id"], data["provider"]) == ("sent", domain.pk, "local")
    assert data["from_address"] == f"Acme <news@{domain.name}>"
    assert data["provider_message_id"] == f"<{data['id']}@{domain.name}>"
    assert data["recipient_count"] == 2
    [sent] = mail.outbox
    assert sent.to == ["ada@example.org"] and sent.cc == ["b@example.org"]
    # bounces come back to the domain's return-path host (SPF alignment, VERP by message)
    assert sent.from_email == f"{data['id']}@bounces.{domain.name}"
    raw = sent.message().as_bytes()
    assert raw.startswith(b"DKIM-Signature: v=1;")
    assert f"d={domain.name}".encode() in raw


def test_the_message_log_lists_and_shows_messages(v1: APIClient, domain: SendingDomain) -> None:
    sent = v1.post("/api/v1/emails", _body(domain), format="json").json()["data"]

    listed = v1.get("/api/v1/emails", {"status": "sent"}).json()["data"]
    shown = v1.get(f"/api/v1/emails/{sent['id']}").json()["data"]
    none_failed = v1.get("/api/v1/emails", {"status": "failed"}).json()["data"]

    assert [m["id"] for m in listed] == [sent["id"]]
    assert shown == sent
    assert none_failed == []


def test_staff_read_the_log_in_the_dashboard_and_outsiders_see_nothing(
    v1: APIClient,
    domain: SendingDomain,
    staff_session: APIClient,
    outsider_v1: APIClient,
) -> None:
    sent = v1.post("/api/v1/emails", _body(domain), format="json").json()["data"]

    staff_list = staff_session.get("/api/internal/emails").json()["data"]
    staff_one = staff_session.get(f"/api/internal/emails/{sent['id']}")
    outsider_one = outsider_v1.get(f"/api/v1/emails/{sent['id']}")
    outsider_list = outsider_v1.get("/api/v1/emails").json()["data"]

    assert [m["id"] for m in staff_list] == [sent["id"]]
    assert staff_one.status_code == 200
    assert outsider_one.status_code == 404
    assert outsider_list == []


def test_an_unverified_domain_cannot_send(v1: APIClient, domain: SendingDomain) -> None:
    SendingDomain.objects.filter(pk=domain.pk).update(status="pending")

    response = v1.post("/api/v1/emails", _body(domain), format="json")

    assert (response.status_code, response.json()["code"]) == (403, "DOMAIN_NOT_VERIFIED")
    assert response.json()["domain_id"] == domain.pk
    assert not Message.objects.exists() and mail.outbox == []


def test_a_verification_lost_is_seen_by_the_next_send(v1: APIClient, domain: SendingDomain) -> None:
    from domains.providers import ProviderStatus
    from domains.services import _transition

    assert v1.post("/api/v1/emails", _body(domain), format="json").status_code == 201
    _transition(
        domain, SendingDomain.Status.PENDING, ProviderStatus(verified=False), timezone.now()
    )

    response = v1.post("/api/v1/emails", _body(domain), format="json")

    assert response.json()["code"] == "DOMAIN_NOT_VERIFIED"


def test_another_organizations_domain_is_not_found(
    outsider_v1: APIClient, domain: SendingDomain
) -> None:
    response = outsider_v1.post("/api/v1/emails", _body(domain), format="json")

    assert (response.status_code, response.json()["code"]) == (404, "DOMAIN_NOT_FOUND")
    assert mail.outbox == []


def test_an_unknown_domain_is_not_found(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.post("/api/v1/emails", _body(domain, **{"from": "a@nowhere.test"}), format="json")

    assert (response.status_code, response.json()["code"]) == (404, "DOMAIN_NOT_FOUND")


def test_a_tenant_bound_domain_sends_only_for_its_tenant(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain
) -> None:
    first, second = (Tenant.objects.create(organization=trio.organization, name=n) for n in "AB")
    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": first.pk}, format="json")

    untold = v1.post("/api/v1/emails", _body(domain), format="json")
    as_first = v1.post("/api/v1/emails", _body(domain, tenant_id=first.pk), format="json")
    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": second.pk}, format="json")
    first_after_rebind = v1.post("/api/v1/emails", _body(domain, tenant_id=first.pk), format="json")
    as_second = v1.post("/api/v1/emails", _body(domain, tenant_id=second.pk), format="json")

    assert (untold.status_code, untold.json()["code"]) == (403, "DOMAIN_TENANT_MISMATCH")
    assert as_first.status_code == 201
    assert as_first.json()["data"]["tenant_id"] == first.pk
    assert first_after_rebind.json()["code"] == "DOMAIN_TENANT_MISMATCH"
    assert as_second.status_code == 201


def test_an_unbound_domain_sends_for_any_tenant(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain
) -> None:
    tenant = Tenant.objects.create(organization=trio.organization, name="A")

    response = v1.post("/api/v1/emails", _body(domain, tenant_id=tenant.pk), format="json")

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"from": "not an address"}, "from"),
        ({"from": "a@b.example, c@d.example"}, "from"),
        ({"from": "ünicode@mail.example.test"}, "from"),
        ({"to": []}, "to"),
        ({"to": ["ok@example.org", "nope"]}, "to"),
        ({"to": "x@y"}, "to"),
        ({"cc": [1]}, "cc"),
        ({"bcc": ["a@example.org\r\nBcc: evil@example.org"]}, "bcc"),
        ({"subject": "Hi\r\nBcc: evil@example.org"}, "subject"),
        ({"subject": ""}, "subject"),
        ({"text": "", "html": ""}, "text"),
        ({"headers": {"X-Ok": "1", "Bcc": "evil@example.org"}}, "headers"),
        ({"headers": {"X-Bad": "a\r\nBcc: evil@example.org"}}, "headers"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"tenant_id": "tnt_missing"}, "tenant_id"),
        # Python's email package breaks lines at VT, FF, FS, GS and RS too
        ({"subject": "Invoice\x0bFrom : CEO <ceo@bank.example>"}, "subject"),
        ({"subject": "a\x1cb"}, "subject"),
        ({"from": "Evil\x0cFrom : x <news@mail.example.test>"}, "from"),
        ({"to": ["Ev\x1eil <a@example.org>"]}, "to"),
        ({"reply_to": "R\x1d <r@example.org>"}, "reply_to"),
        ({"headers": {"X-Note": "a\x0bBcc: evil@example.org"}}, "headers"),
        ({"headers": {"X-Note": "a\x7f"}}, "headers"),
        ({"headers": {"X-SES-CONFIGURATION-SET": "someone-elses"}}, "headers"),
        ({"from": "A" * 450 + " <news@mail.example.test>"}, "from"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_is_refused_with_the_field(
    v1: APIClient, domain: SendingDomain, changes: dict, field: str
) -> None:
    response = v1.post("/api/v1/emails", _body(domain, **changes), format="json")

    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")
    assert field in response.json()["errors"], response.json()
    assert not Message.objects.exists() and mail.outbox == []


def test_more_recipients_than_allowed_are_refused(
    v1: APIClient, domain: SendingDomain, settings
) -> None:
    settings.EMAIL_MAX_RECIPIENTS = 3
    body = _body(domain, to=["a@example.org", "b@example.org"], bcc=["c@x.org", "d@x.org"])

    response = v1.post("/api/v1/emails", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")


def test_unicode_domains_and_display_names(v1: APIClient, trio: OrgTrio, label: str, dns) -> None:
    domain = verified(
        sending_domain_create(organization=trio.organization, name=f"bücher.{label}.example.test")
    )

    response = v1.post(
        "/api/v1/emails",
        _body(domain, **{"from": f"Café Zoë <news@bücher.{label}.example.test>"}),
        format="json",
    )

    assert response.status_code == 201, response.content
    raw = mail.outbox[0].message().as_bytes()
    assert f"news@{domain.name}".encode() in raw  # punycode on the wire
    assert b"=?utf-8?" in raw  # the display name is encoded, not raw 8-bit


# --- warmup caps -------------------------------------------------------------------------


def _warm(domain: SendingDomain, *, total_days: int = 14) -> SendingDomain:
    return sending_domain_start_warmup(domain=domain, total_days=total_days)


@pytest.fixture
def midday() -> Iterator[None]:
    """Time runs, from noon UTC: a test that counts today's sends never crosses midnight."""
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), tick=True):
        yield


def test_the_cap_refuses_with_the_cap_the_count_and_the_reset(
    v1: APIClient, domain: SendingDomain
) -> None:
    start = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _warm(domain)
        forty_nine = [f"r{i}@example.org" for i in range(49)]
        big = v1.post("/api/v1/emails", _body(domain, to=forty_nine), format="json")
        last = v1.post("/api/v1/emails", _body(domain), format="json")
        over = v1.post("/api/v1/emails", _body(domain), format="json")

    assert (big.status_code, last.status_code) == (201, 201)
    assert over.status_code == 429
    body = over.json()
    assert body["code"] == "WARMUP_LIMIT_EXCEEDED"
    assert (body["cap"], body["count"], body["requested"]) == (50, 50, 1)
    assert body["resets_at"] == "2026-11-24T00:00:00+00:00"
    assert over["Retry-After"] == str(9 * 3600 + 1)
    assert Message.objects.count() == 2


def test_a_message_bigger_than_what_is_left_is_refused_whole(
    v1: APIClient, domain: SendingDomain, midday: None
) -> None:
    _warm(domain)
    v1.post("/api/v1/emails", _body(domain, to=[f"r{i}@x.org" for i in range(45)]), format="json")

    too_many = v1.post(
        "/api/v1/emails", _body(domain, to=[f"s{i}@x.org" for i in range(6)]), format="json"
    )
    fits = v1.post(
        "/api/v1/emails", _body(domain, to=[f"s{i}@x.org" for i in range(5)]), format="json"
    )

    assert (too_many.status_code, too_many.json()["count"]) == (429, 45)
    assert fits.status_code == 201


def test_the_cap_resets_at_utc_midnight_and_doubles(v1: APIClient, domain: SendingDomain) -> None:
    start = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _warm(domain)
        v1.post(
            "/api/v1/emails", _body(domain, to=[f"r{i}@x.org" for i in range(50)]), format="json"
        )
        refused = v1.post("/api/v1/emails", _body(domain), format="json")
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        day_two = [
            v1.post(
                "/api/v1/emails",
                _body(domain, to=[f"r{i}@x.org" for i in range(50)]),
                format="json",
            ).status_code
            for _ in range(3)
        ]

    assert refused.status_code == 429
    assert day_two == [201, 201, 429]  # 100 on day two


def test_a_finished_warmup_means_no_cap(v1: APIClient, domain: SendingDomain) -> None:
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=3), tick=False):
        _warm(domain, total_days=3)

    statuses = {
        v1.post(
            "/api/v1/emails", _body(domain, to=[f"r{i}@x.org" for i in range(50)]), format="json"
        ).status_code
        for _ in range(3)
    }

    assert statuses == {201}
    assert not SendCount.objects.exists()  # nothing was counted: there is no cap


def test_a_domain_never_warmed_up_has_no_cap(v1: APIClient, domain: SendingDomain) -> None:
    for _ in range(2):
        response = v1.post(
            "/api/v1/emails", _body(domain, to=[f"r{i}@x.org" for i in range(50)]), format="json"
        )
        assert response.status_code == 201


def test_warmup_started_after_a_send_applies_to_the_next(
    v1: APIClient, domain: SendingDomain, midday: None
) -> None:
    v1.post("/api/v1/emails", _body(domain), format="json")  # caches the domain
    v1.post(f"/api/v1/domains/{domain.pk}/warmup", {"total_days": 14}, format="json")

    v1.post("/api/v1/emails", _body(domain, to=[f"r{i}@x.org" for i in range(50)]), format="json")
    response = v1.post("/api/v1/emails", _body(domain), format="json")

    assert response.json()["code"] == "WARMUP_LIMIT_EXCEEDED"


def test_a_send_the_relay_refuses_gives_its_slots_back(
    v1: APIClient, domain: SendingDomain, smtp: SmtpSink, midday: None
) -> None:
    _warm(domain)
    smtp.handler.reply = "554 5.7.1 Message rejected"

    refused = v1.post("/api/v1/emails", _body(domain, to=["a@x.org", "b@x.org"]), format="json")

    message = Message.objects.get()
    assert (refused.status_code, refused.json()["code"]) == (422, "MESSAGE_REJECTED")
    assert refused.json()["message_id"] == message.pk
    assert (message.status, message.error_code) == ("failed", "554")
    assert send_counter().count(domain.pk, timezone.now().date()) == 0


def test_a_relay_that_is_down_is_a_503_and_the_slots_come_back(
    v1: APIClient, domain: SendingDomain, smtp: SmtpSink, midday: None
) -> None:
    _warm(domain)
    smtp.handler.reply = "451 4.3.0 Try again later"

    response = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert (response.status_code, response.json()["code"]) == (503, "PROVIDER_UNAVAILABLE")
    assert send_counter().count(domain.pk, timezone.now().date()) == 0
    # the key is free again: the retry really sends
    smtp.handler.reply = "250 OK"
    retry = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "false"
    assert len(smtp.received) == 1


def _race(domain: SendingDomain, organization: object, senders: int) -> tuple[int, int, list]:
    accepted, refused, errors = [], [], []
    barrier = threading.Barrier(senders)

    def send(i: int) -> None:
        try:
            barrier.wait()
            email_send(
                organization=organization,
                email=OutgoingEmail(
                    from_address=f"news@{domain.name}",
                    from_name="",
                    to=[f"r{i}@example.org"],
                    subject="s",
                    text="t",
                ),
            )
            accepted.append(i)
        except WarmupLimitExceeded:
            refused.append(i)
        except BaseException as exc:  # reported by the assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(accepted), len(refused), errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_sends_against_a_cap_of_ten_on_postgresql(
    trio: OrgTrio, domain: SendingDomain, settings
) -> None:
    settings.REDIS_URL = ""
    SendingDomain.objects.filter(pk=domain.pk).update(warmup_total_days=14)
    _warm(domain)
    SendCount.objects.create(domain=domain, day=timezone.now().date(), count=40)  # 10 left

    accepted, refused, errors = _race(domain, trio.organization, 40)

    assert errors == []
    assert (accepted, refused) == (10, 30)
    assert SendCount.objects.get(domain=domain).count == 50
    assert Message.objects.filter(status="sent").count() == 10


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_forty_concurrent_sends_against_a_cap_of_ten_on_redis(
    trio: OrgTrio, domain: SendingDomain, settings
) -> None:
    client = _redis_or_skip()
    settings.REDIS_URL = REDIS_URL
    _warm(domain)
    key = RedisSendCounter.key(domain.pk, timezone.now().date())
    client.set(key, 40, ex=2 * 86400)  # 10 left of today's 50, as the script left it

    accepted, refused, errors = _race(domain, trio.organization, 40)

    assert errors == []
    assert (accepted, refused) == (10, 30)
    assert int(client.get(key)) == 50
    assert 0 < client.ttl(key) <= 2 * 86400  # counting up keeps the day's expiry
    assert not SendCount.objects.exists()
    client.delete(key)


def test_the_redis_counter_is_exact_under_concurrency_and_expires() -> None:
    client = _redis_or_skip()
    counter = RedisSendCounter(REDIS_URL)
    day = timezone.now().date()
    key = counter.key("dom_race", day)
    client.delete(key)
    results: list[bool] = []
    barrier = threading.Barrier(40)

    def take() -> None:
        barrier.wait()
        results.append(counter.take("dom_race", day, 1, 10).allowed)

    threads = [threading.Thread(target=take) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counter.give_back("dom_race", day, 3)
    counter.give_back("dom_race", day, 30)  # never below zero

    assert len(results) == 40  # no thread died on the way
    assert (results.count(True), results.count(False)) == (10, 30)
    assert 0 < client.ttl(key) <= 2 * 86400
    assert counter.count("dom_race", day) == 0
    client.delete(key)


def test_the_database_counter_takes_gives_back_and_refuses(domain: SendingDomain) -> None:
    counter = DatabaseSendCounter()
    day = timezone.now().date()

    first = counter.take(domain.pk, day, 8, 10)
    second = counter.take(domain.pk, day, 3, 10)
    counter.give_back(domain.pk, day, 8)
    third = counter.take(domain.pk, day, 10, 10)
    too_big = counter.take(domain.pk, day, 11, 10)

    assert (first.allowed, first.count) == (True, 8)
    assert (second.allowed, second.count) == (False, 8)
    assert (third.allowed, third.count) == (True, 10)
    assert too_big.allowed is False


# --- idempotency -------------------------------------------------------------------------


def test_a_retried_request_with_its_key_sends_once(v1: APIClient, domain: SendingDomain) -> None:
    first = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    assert first.status_code == again.status_code == 201
    assert again.json()["data"] == first.json()["data"]
    assert (first["Idempotent-Replayed"], again["Idempotent-Replayed"]) == ("false", "true")
    assert len(mail.outbox) == 1 and Message.objects.count() == 1


def test_a_key_reused_for_another_request_is_refused(v1: APIClient, domain: SendingDomain) -> None:
    v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    other = v1.post(
        "/api/v1/emails",
        _body(domain, subject="Other"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-1",
    )

    assert (other.status_code, other.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert len(mail.outbox) == 1


def test_a_key_expires_after_a_day(v1: APIClient, domain: SendingDomain) -> None:
    start = timezone.now()
    with time_machine.travel(start - timedelta(hours=25), tick=False):
        v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    again = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    assert again["Idempotent-Replayed"] == "false"
    assert len(mail.outbox) == 2


def test_keys_belong_to_one_organization(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain, outsider_v1: APIClient, label: str
) -> None:
    theirs = verified(
        sending_domain_create(organization=trio.other_organization, name=f"o.{label}.example.test")
    )
    v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="same")

    response = outsider_v1.post(
        "/api/v1/emails", _body(theirs), format="json", HTTP_IDEMPOTENCY_KEY="same"
    )

    assert response["Idempotent-Replayed"] == "false"
    assert response.json()["data"]["domain_id"] == theirs.pk


def test_a_rejected_message_replays_as_the_same_rejection(
    v1: APIClient, domain: SendingDomain, smtp: SmtpSink
) -> None:
    smtp.handler.reply = "554 5.7.1 Message rejected"
    first = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k")
    smtp.handler.reply = "250 OK"

    again = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert first.json()["code"] == again.json()["code"] == "MESSAGE_REJECTED"
    assert again.json()["message_id"] == first.json()["message_id"]
    assert smtp.received == []


def test_a_malformed_key_is_refused(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.post(
        "/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="x" * 256
    )

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_IDEMPOTENCY_KEY")


# --- the local provider's DKIM signature, checked against DNS -----------------------------


@pytest.mark.parametrize("text", ["Thanks for your order.", "Grüße, Zoë — " + "é" * 1200])
def test_a_local_message_verifies_with_the_key_published_in_dns(
    v1: APIClient, domain: SendingDomain, dns: KnotServer, smtp: SmtpSink, text: str
) -> None:
    dkim_record = domain.records.get(purpose="dkim")
    value = dkim_record.value
    chunks = [f'"{value[i : i + 250]}"' for i in range(0, len(value), 250)]
    dns.set(dkim_record.hostname, "TXT", " ".join(chunks))
    resolver = dns_resolver_for(dns)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(r.strings) for r in answer)

    response = v1.post(
        "/api/v1/emails",
        _body(
            domain,
            text=text,
            html=f"<p>{text}</p>",
            headers={"List-Unsubscribe": "<mailto:u@x.org>", "X-Note": "naïve"},
            **{"from": f"Zoë <news@{domain.name}>", "reply_to": "Ré <r@example.org>"},
        ),
        format="json",
    )

    assert response.status_code == 201
    [received] = smtp.received
    assert all(byte < 128 for byte in received.data)  # 7-bit: nothing for a relay to re-encode
    assert received.mail_from == f"{response.json()['data']['id']}@bounces.{domain.name}"
    assert dkim.verify(received.data, dnsfunc=dnsfunc)
    tampered = received.data.replace(b"Your receipt", b"Your refund")
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)


def dns_resolver_for(server: KnotServer) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = server.port
    return resolver


# --- test email --------------------------------------------------------------------------


def test_the_owner_sends_a_test_email_from_either_surface(
    v1: APIClient, owner_session: APIClient, domain: SendingDomain
) -> None:
    by_key = v1.post(f"/api/v1/domains/{domain.pk}/test-email", {"to": "me@example.org"})
    by_session = owner_session.post(
        f"/api/internal/domains/{domain.pk}/test-email", {"to": "me@example.org"}, format="json"
    )

    assert by_key.status_code == by_session.status_code == 201
    assert by_key.json()["data"]["kind"] == "test"
    assert mail.outbox[0].subject == f"Test email from {domain.display_name}"
    assert mail.outbox[0].extra_headers["From"] == f"Domainkeeper test <test@{domain.name}>"
    assert AuditEvent.objects.filter(action="domain.test_email_sent").count() == 2


def test_test_email_rules(
    v1: APIClient, staff_session: APIClient, outsider_v1: APIClient, domain: SendingDomain
) -> None:
    staff = staff_session.post(
        f"/api/internal/domains/{domain.pk}/test-email", {"to": "me@example.org"}, format="json"
    )
    outsider = outsider_v1.post(f"/api/v1/domains/{domain.pk}/test-email", {"to": "me@x.org"})
    bad = v1.post(f"/api/v1/domains/{domain.pk}/test-email", {"to": "nope"})
    SendingDomain.objects.filter(pk=domain.pk).update(status="pending")
    pending = v1.post(f"/api/v1/domains/{domain.pk}/test-email", {"to": "me@example.org"})

    assert staff.status_code == 403
    assert outsider.status_code == 404
    assert (bad.status_code, bad.json()["code"]) == (400, "VALIDATION_ERROR")
    assert "to" in bad.json()["errors"]
    assert (pending.status_code, pending.json()["code"]) == (403, "DOMAIN_NOT_VERIFIED")
    assert mail.outbox == []


# --- admin ---------------------------------------------------------------------------------


def test_staff_read_the_send_log_in_the_admin(v1: APIClient, domain: SendingDomain, client) -> None:
    from accounts.models import User

    sent = v1.post("/api/v1/emails", _body(domain), format="json").json()["data"]
    client.force_login(User.objects.create_superuser("root@example.test", "pw"))

    listing = client.get("/admin/domains/message/", {"q": domain.name})
    page = client.get(f"/admin/domains/message/{quote(sent['id'])}/change/")

    assert listing.status_code == page.status_code == 200
    assert sent["id"].encode() in listing.content
    assert b"Your receipt" in page.content
    assert client.post(f"/admin/domains/message/{quote(sent['id'])}/delete/").status_code == 403


def test_a_tenant_bound_in_the_admin_reaches_the_next_send(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain, client
) -> None:
    from accounts.models import User

    tenant = Tenant.objects.create(organization=trio.organization, name="A")
    assert v1.post("/api/v1/emails", _body(domain), format="json").status_code == 201  # cached
    client.force_login(User.objects.create_superuser("root@example.test", "pw"))
    page = client.get(f"/admin/domains/sendingdomain/{quote(domain.pk)}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        {
            "organization": trio.organization.pk,
            "tenant": tenant.pk,
            "records-TOTAL_FORMS": "4",
            "records-INITIAL_FORMS": "4",
            "records-MIN_NUM_FORMS": "0",
            "records-MAX_NUM_FORMS": "1000",
        }
    )
    for i, record in enumerate(domain.records.all()):
        data[f"records-{i}-id"] = record.pk
        data[f"records-{i}-domain"] = domain.pk
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}

    saved = client.post(f"/admin/domains/sendingdomain/{quote(domain.pk)}/change/", data)
    response = v1.post("/api/v1/emails", _body(domain), format="json")

    assert saved.status_code == 302, saved.content[:2000]
    assert response.json()["code"] == "DOMAIN_TENANT_MISMATCH"


# --- found in review -----------------------------------------------------------------------


def test_a_form_post_is_refused_rather_than_half_read(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.post(
        "/api/v1/emails",
        {**_body(domain), "to": ["a@example.org", "b@example.org"]},
        format="multipart",
    )

    assert (response.status_code, response.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert mail.outbox == []


def test_a_retry_replays_even_after_the_domain_changed(
    v1: APIClient, domain: SendingDomain
) -> None:
    first = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k-u")
    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": None}, format="json")
    SendingDomain.objects.filter(pk=domain.pk).update(status="pending")
    from domains.selectors import sender_cache_forget

    sender_cache_forget(domain)

    again = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k-u")

    assert again.status_code == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]


def test_a_bug_after_the_slot_was_taken_gives_it_back_and_frees_the_key(
    v1: APIClient, domain: SendingDomain, monkeypatch
) -> None:
    from domains.providers.local import LocalProvider

    _warm(domain)

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(LocalProvider, "send", broken)
    v1.raise_request_exception = False

    response = v1.post("/api/v1/emails", _body(domain), format="json", HTTP_IDEMPOTENCY_KEY="k")

    message = Message.objects.get()
    assert response.status_code == 500
    assert (message.status, message.error_code, message.idempotency_key) == (
        "failed",
        "INTERNAL_ERROR",
        "",
    )
    assert send_counter().count(domain.pk, timezone.now().date()) == 0


@pytest.mark.django_db(transaction=True)
def test_a_domain_deleted_under_a_cached_lookup_is_not_found_not_another_message(
    trio: OrgTrio, api_key: str, dns: KnotServer, label: str
) -> None:
    from domains.selectors import domain_for_sender
    from tests.conftest import bearer_client

    client = bearer_client(api_key)
    domain = verified(
        sending_domain_create(organization=trio.organization, name=f"gone.{label}.example.test")
    )
    assert client.post("/api/v1/emails", _body(domain), format="json").status_code == 201
    Message.objects.all().delete()
    domain_for_sender(organization_id=trio.organization.pk, from_address=f"a@{domain.name}")
    with connection.cursor() as cursor:  # behind the cache's back, as a concurrent delete
        cursor.execute("DELETE FROM domains_domainrecord WHERE domain_id = %s", [domain.pk])
        cursor.execute("DELETE FROM domains_sendingdomain WHERE id = %s", [domain.pk])

    response = client.post("/api/v1/emails", _body(domain, subject="Second"), format="json")

    assert (response.status_code, response.json()["code"]) == (404, "DOMAIN_NOT_FOUND")


def test_deleting_a_tenant_unbinds_its_domains_for_the_next_send(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain
) -> None:
    tenant = Tenant.objects.create(organization=trio.organization, name="A")
    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": tenant.pk}, format="json")
    refused = v1.post("/api/v1/emails", _body(domain), format="json")
    assert refused.json()["code"] == "DOMAIN_TENANT_MISMATCH"

    v1.delete(f"/api/v1/tenants/{tenant.pk}")
    response = v1.post("/api/v1/emails", _body(domain), format="json")

    assert response.status_code == 201


def test_a_domain_added_after_a_miss_is_seen_at_once(
    v1: APIClient, trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    address = f"news@late.{label}.example.test"
    missing = v1.post("/api/v1/emails", {**_body_for(address)}, format="json")
    sending_domain_create(organization=trio.organization, name=f"late.{label}.example.test")

    pending = v1.post("/api/v1/emails", {**_body_for(address)}, format="json")

    assert missing.json()["code"] == "DOMAIN_NOT_FOUND"
    assert pending.json()["code"] == "DOMAIN_NOT_VERIFIED"


def _body_for(address: str) -> dict:
    return {"from": address, "to": ["a@example.org"], "subject": "s", "text": "t"}


def test_a_stale_read_stored_after_a_change_is_never_used(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    from django.core.cache import cache

    from domains.selectors import SENDER_CACHE, domain_for_sender, sender_cache_name

    address = f"a@{domain.name}"
    name = sender_cache_name(trio.organization.pk, domain.name)
    generation_key = SENDER_CACHE.generation_key(name)
    # A reader reads the generation and the row, then the change lands, then the reader
    # stores what it loaded under the generation it read.
    generation = cache.get(generation_key, 0)
    old = domain_for_sender(organization_id=trio.organization.pk, from_address=address)
    tenant = Tenant.objects.create(organization=trio.organization, name="T")
    from domains.services import sending_domain_set_tenant

    sending_domain_set_tenant(domain=domain, tenant=tenant)
    stale_key = SENDER_CACHE.value_key(name, generation)
    cache.set(stale_key, {**old.__dict__}, 60)

    fresh = domain_for_sender(organization_id=trio.organization.pk, from_address=address)

    assert old.tenant_id is None
    assert cache.get(generation_key) > generation
    assert fresh.tenant_id == tenant.pk
