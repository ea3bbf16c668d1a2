"""Deliveries to a real receiver on loopback, verified by the independent
`standardwebhooks` package, and the retry rules of shared/WEBHOOKS.md."""

import json
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import Tenant
from tests.conftest import OrgTrio
from tests.webhook_receiver import Reply, WebhookReceiver
from webhooks import transport
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    deliveries_send_due,
    delivery_send,
    endpoint_rotate_secret,
    next_delay,
    publish,
)

pytestmark = pytest.mark.django_db


def domain_verified(trio: OrgTrio, tenant: Tenant | None = None, name: str = "mail.acme.com"):
    return publish(
        organization=trio.organization,
        type="domain.verified",
        obj={"id": "dom_1", "name": name, "kind": "sending_domain", "status": "verified"},
        previous_attributes={"status": "pending"},
        tenant=tenant,
    )


def delivery_of(event) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def test_a_published_event_arrives_signed_per_the_spec(
    trio: OrgTrio,
    receiver: WebhookReceiver,
    endpoint_and_secret,
    django_capture_on_commit_callbacks,
) -> None:
    endpoint, secret = endpoint_and_secret
    with django_capture_on_commit_callbacks(execute=True):
        event = domain_verified(trio)

    [received] = receiver.wait_for(1)
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload == event.payload
    assert payload["data"]["object"]["name"] == "mail.acme.com"
    assert payload["data"]["previous_attributes"] == {"status": "pending"}
    assert received.headers["webhook-id"] == event.id
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"].startswith("Domainkeeper")
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 5
    delivery = delivery_of(event)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    endpoint.refresh_from_db()
    assert endpoint.last_success_at is not None


def test_nothing_is_sent_before_commit_nor_after_a_rollback(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint, django_capture_on_commit_callbacks
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        domain_verified(trio)
        assert receiver.received == []
        raise RuntimeError("the change failed")

    time.sleep(0.2)
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_only_subscribed_types_and_matching_tenants(
    trio: OrgTrio, receiver: WebhookReceiver, tenant: Tenant, django_capture_on_commit_callbacks
) -> None:
    other_tenant = Tenant.objects.create(organization=trio.organization, name="Wholesale")
    from webhooks.services import endpoint_create

    only_removed, _ = endpoint_create(
        organization=trio.organization, url=receiver.url("/removed"), event_types=["domain.removed"]
    )
    endpoint_create(organization=trio.organization, url=receiver.url("/tenant"), tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        domain_verified(trio, tenant=tenant)
        domain_verified(trio, tenant=other_tenant)

    received = receiver.wait_for(1)
    time.sleep(0.2)
    assert [r.path for r in receiver.received] == ["/tenant"]
    assert not WebhookDelivery.objects.filter(endpoint=only_removed).exists()
    assert received


def test_a_batch_reads_endpoints_once_per_tenant_and_writes_in_two_statements(
    trio: OrgTrio, receiver: WebhookReceiver, tenant: Tenant, django_capture_on_commit_callbacks
) -> None:
    from webhooks.services import News, endpoint_create, publish_many

    everything, _ = endpoint_create(organization=trio.organization, url=receiver.url("/all"))
    tenants, _ = endpoint_create(
        organization=trio.organization, url=receiver.url("/tenant"), tenant=tenant
    )
    failures, _ = endpoint_create(
        organization=trio.organization, url=receiver.url("/failed"), event_types=["domain.failed"]
    )
    endpoint_create(organization=trio.other_organization, url=receiver.url("/other"))

    def news(type: str, name: str, tenant: Tenant | None = None) -> News:
        return News(trio.organization, type, {"id": name, "name": name}, None, tenant)

    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        transaction.atomic(),
        CaptureQueriesContext(connection) as queries,
    ):
        events = publish_many(
            [
                news("domain.verified", "a"),
                news("domain.verified", "b", tenant),
                news("domain.failed", "c", tenant),
                news("domain.failed", "d"),
            ]
        )

    statements = [q["sql"].split()[0] for q in queries]
    assert statements == ["INSERT", "SELECT", "SELECT", "INSERT"]  # one read per tenant
    assert [e.payload["data"]["object"]["name"] for e in events] == ["a", "b", "c", "d"]
    assert len({e.id for e in events}) == 4
    sent_to = {
        e.payload["data"]["object"]["name"]: sorted(
            WebhookDelivery.objects.filter(event=e).values_list("endpoint__url", flat=True)
        )
        for e in events
    }
    assert sent_to == {
        "a": [everything.url],
        "b": sorted([everything.url, tenants.url]),
        "c": sorted([everything.url, tenants.url, failures.url]),
        "d": sorted([everything.url, failures.url]),
    }
    assert len(callbacks) == 1  # one enqueue for the batch, after commit


def test_a_failure_is_retried_on_schedule_and_signed_afresh(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint, django_capture_on_commit_callbacks
) -> None:
    receiver.reply(Reply(500, body=b"boom"))
    with django_capture_on_commit_callbacks(execute=False):  # the retry's countdown is ours
        event = domain_verified(trio)
    started = timezone.now()
    delivery_send(delivery_of(event).pk)

    delivery = delivery_of(event)
    wait = (delivery.next_attempt_at - started).total_seconds()
    assert delivery.status == "pending"
    assert 5 <= wait <= 5.5 + 1
    assert delivery.last_status_code == 500
    assert WebhookAttempt.objects.get(delivery=delivery).response_body == "boom"

    with time_machine.travel(timezone.now() + timedelta(seconds=6)):
        delivery_send(delivery.pk)
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert delivery_of(event).status == "succeeded"


def test_the_schedule_and_its_jitter_bounds() -> None:
    assert len(RETRY_DELAYS) + 1 == MAX_ATTEMPTS == 10
    assert sum(RETRY_DELAYS) / 3600 == pytest.approx(75, abs=1)
    for attempt, base in enumerate(RETRY_DELAYS, start=1):
        delays = [next_delay(attempt, 500, {}) for _ in range(200)]
        assert min(delays) >= base
        assert max(delays) <= base * 1.1


@pytest.mark.parametrize(("status", "honoured"), [(429, True), (503, True), (500, False)])
def test_retry_after(status: int, honoured: bool) -> None:
    delay = next_delay(1, status, {"retry-after": "120"})

    assert (delay >= 120) is honoured


def test_retry_after_as_an_http_date() -> None:
    from email.utils import format_datetime

    when = format_datetime(timezone.now() + timedelta(minutes=10), usegmt=True)

    assert 590 <= next_delay(1, 503, {"retry-after": when}) <= 601


def test_a_redirect_is_a_failure_and_is_not_followed(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint
) -> None:
    private = WebhookReceiver().start()
    try:
        receiver.reply(Reply(302, headers={"Location": private.url("/internal")}))
        event = domain_verified(trio)
        delivery_send(delivery_of(event).pk)

        delivery = delivery_of(event)
        assert delivery.status == "pending"
        assert "redirect (not followed)" in delivery.last_error
        assert private.connections == 0
    finally:
        private.stop()


def test_410_gone_disables_the_endpoint_and_tells_the_owners(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint, django_capture_on_commit_callbacks
) -> None:
    receiver.reply(Reply(410))
    first = domain_verified(trio)
    second = domain_verified(trio)
    with django_capture_on_commit_callbacks(execute=True):
        delivery_send(delivery_of(first).pk)

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "410" in endpoint.disabled_reason
    assert delivery_of(first).status == "failed"
    assert delivery_of(second).status == "cancelled"
    assert [m.to for m in mail.outbox] == [[trio.owner.email]]
    assert "disabled" in mail.outbox[0].subject


def _exhaust(event) -> WebhookDelivery:
    delivery = delivery_of(event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=MAX_ATTEMPTS - 1)
    delivery_send(delivery.pk)
    return delivery_of(event)


def test_running_out_of_attempts_tells_the_owners_once(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint, django_capture_on_commit_callbacks
) -> None:
    receiver.default = Reply(500, body=b"still down")
    with django_capture_on_commit_callbacks(execute=True):
        first = _exhaust(domain_verified(trio))
        second = _exhaust(domain_verified(trio))

    assert (first.status, first.attempts) == ("failed", MAX_ATTEMPTS)
    assert second.status == "failed"
    assert len(mail.outbox) == 1
    assert "ran out" in mail.outbox[0].subject
    assert "HTTP 500" in mail.outbox[0].body
    endpoint.refresh_from_db()
    assert endpoint.enabled  # not yet five days


def test_five_days_without_success_and_two_exhaustions_12h_apart_disable(
    trio: OrgTrio, receiver: WebhookReceiver, django_capture_on_commit_callbacks
) -> None:
    from webhooks.services import endpoint_create

    receiver.default = Reply(503)
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=6), tick=False):
        endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    with time_machine.travel(start - timedelta(hours=13), tick=False):
        _exhaust(domain_verified(trio))
    endpoint.refresh_from_db()
    assert endpoint.enabled

    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        _exhaust(domain_verified(trio))

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "5 days" in endpoint.disabled_reason
    assert "HTTP 503" in endpoint.disabled_reason
    assert any("disabled" in m.subject for m in mail.outbox)


def test_exhaustions_close_together_do_not_disable(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    from webhooks.services import endpoint_create

    receiver.default = Reply(503)
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=6), tick=False):
        endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    with time_machine.travel(start - timedelta(hours=2), tick=False):
        _exhaust(domain_verified(trio))
    with time_machine.travel(start, tick=False):
        _exhaust(domain_verified(trio))

    endpoint.refresh_from_db()
    assert endpoint.enabled


def test_rotation_signs_with_both_secrets_for_24_hours(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint_and_secret
) -> None:
    endpoint, old = endpoint_and_secret
    new = endpoint_rotate_secret(endpoint=endpoint)
    delivery_send(delivery_of(domain_verified(trio)).pk)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        delivery_send(delivery_of(domain_verified(trio, name="b")).pk)

    during, after = receiver.wait_for(2)
    assert Webhook(old).verify(during.body, during.headers)
    assert Webhook(new).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert Webhook(new).verify(after.body, after.headers)


def test_only_20_kb_of_a_response_is_kept(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint
) -> None:
    receiver.reply(Reply(500, body=b"x" * 50_000))
    event = domain_verified(trio)
    delivery_send(delivery_of(event).pk)

    assert len(WebhookAttempt.objects.get(delivery__event=event).response_body) == 20 * 1024


def test_a_slow_receiver_is_a_timeout(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint, monkeypatch
) -> None:
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT", 0.3)
    receiver.reply(Reply(200, delay=1.5))
    event = domain_verified(trio)

    delivery_send(delivery_of(event).pk)

    delivery = delivery_of(event)
    assert delivery.status == "pending"
    assert "Timeout" in delivery.last_error or "timed out" in delivery.last_error


def test_a_claimed_delivery_is_not_sent_twice(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint
) -> None:
    event = domain_verified(trio)
    pk = delivery_of(event).pk

    assert delivery_send(pk) is not None
    assert delivery_send(pk) is None  # succeeded: not due any more
    assert len(receiver.wait_for(1)) == 1


def test_the_payload_is_thin_and_under_20_kb(trio: OrgTrio) -> None:
    with pytest.raises(ValueError, match="thin"):
        publish(
            organization=trio.organization,
            type="domain.verified",
            obj={"id": "dom_1", "blob": "x" * 30_000},
        )
    with pytest.raises(ValueError, match="unregistered"):
        publish(organization=trio.organization, type="domain.exploded", obj={})


def test_the_body_sent_is_the_body_signed(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint_and_secret
) -> None:
    _, secret = endpoint_and_secret
    event = publish(
        organization=trio.organization,
        type="domain.verified",
        obj={"id": "dom_ü", "name": "mystöre.com", "n": 1.5},
    )
    delivery_send(delivery_of(event).pk)

    [received] = receiver.wait_for(1)
    assert json.loads(received.body) == event.payload
    assert Webhook(secret).verify(received.body, received.headers)
    assert event.body.encode() == received.body


def test_the_sweep_sends_what_was_never_enqueued(
    trio: OrgTrio, receiver: WebhookReceiver, endpoint
) -> None:
    events = [domain_verified(trio, name=f"d{i}") for i in range(3)]  # on_commit never ran

    sent = deliveries_send_due(grace=timedelta(0))

    assert sent == 3
    assert len(receiver.wait_for(3)) == 3
    assert {delivery_of(e).status for e in events} == {"succeeded"}
