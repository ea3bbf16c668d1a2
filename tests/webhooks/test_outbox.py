"""The outbox: nothing lost when the broker is down, nothing sent twice by two relays."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from config.celery import app as celery_app
from tests.conftest import OrgTrio
from tests.webhook_receiver import WebhookReceiver
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import deliveries_send_due, endpoint_create, publish


def _publish(trio: OrgTrio, n: int) -> list[str]:
    return [
        publish(organization=trio.organization, type="domain.verified", obj={"id": f"dom_{i}"}).pk
        for i in range(n)
    ]


@pytest.fixture
def broker_down():
    """Celery as in production (not eager), pointed at a port where no broker listens."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_connection_timeout)
    conf.task_always_eager = False
    conf.broker_url = "redis://127.0.0.1:9/0"
    conf.broker_connection_timeout = 0.5
    celery_app.pool.force_close_all()
    yield
    conf.task_always_eager, conf.broker_url, conf.broker_connection_timeout = saved
    celery_app.pool.force_close_all()


@pytest.mark.django_db
def test_an_event_published_while_the_broker_is_down_is_delivered_by_the_sweep(
    trio: OrgTrio,
    receiver: WebhookReceiver,
    endpoint,
    broker_down: None,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [event_id] = _publish(trio, 1)  # the enqueue fails: logged, not raised

    assert receiver.received == []
    assert WebhookDelivery.objects.get(event_id=event_id).status == "pending"

    assert deliveries_send_due(grace=timedelta(0)) == 1
    [received] = receiver.wait_for(1)
    assert received.headers["webhook-id"] == event_id
    assert WebhookDelivery.objects.get(event_id=event_id).status == "succeeded"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_relays_never_send_the_same_attempt_twice(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint_create(organization=trio.organization, url=receiver.url())
    event_ids = _publish(trio, 60)  # autocommit: on_commit enqueues eagerly, so clear them
    WebhookDelivery.objects.update(
        status="pending", attempts=0, next_attempt_at="2000-01-01T00:00Z"
    )
    WebhookAttempt.objects.all().delete()
    receiver.received.clear()
    errors: list[BaseException] = []

    def relay() -> None:
        try:
            while deliveries_send_due(limit=7, grace=timedelta(0), workers=3):
                pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    relays = [threading.Thread(target=relay) for _ in range(3)]
    for thread in relays:
        thread.start()
    for thread in relays:
        thread.join()

    assert errors == []
    sent = Counter(r.headers["webhook-id"] for r in receiver.wait_for(60))
    assert sent == Counter(dict.fromkeys(event_ids, 1))
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("succeeded", 1)}
    assert WebhookAttempt.objects.count() == 60


@pytest.mark.django_db
def test_an_event_joins_the_callers_transaction_without_a_savepoint(trio: OrgTrio) -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        publish(organization=trio.organization, type="domain.verified", obj={"id": "dom_1"})

    statements = [q["sql"].split()[0] for q in queries]
    assert statements == ["INSERT", "SELECT"]  # the event, then the endpoints that want it
