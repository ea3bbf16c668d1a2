from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from accounts.models import Tenant
from tests.conftest import OrgTrio
from tests.webhook_receiver import Reply, WebhookReceiver
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_send_due, delivery_send, endpoint_create, publish

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints"


def relay() -> None:
    """What the worker does after commit (tests run inside one transaction)."""
    while deliveries_send_due(grace=timedelta(0)):
        pass


def test_create_shows_the_secret_once(v1: APIClient, receiver: WebhookReceiver) -> None:
    response = v1.post(
        URL,
        {"url": receiver.url(), "description": "prod", "event_types": ["domain.verified"]},
        format="json",
    )

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["id"].startswith("we_")
    assert data["secret"].startswith("whsec_")
    assert data["event_types"] == ["domain.verified"]
    shown = v1.get(f"{URL}/{data['id']}").json()["data"]
    assert "secret" not in shown
    assert data["secret"] not in str(v1.get(URL).json())
    stored = WebhookEndpoint.objects.get(pk=data["id"])
    assert data["secret"] not in stored.secret_encrypted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com", "event_types": ["domain.exploded"]}, "event_types.0"),
        ({"url": "https://example.com", "tenant_id": "tnt_nope"}, "tenant_id"),
        ({"url": "ftp://example.com"}, "url"),
        ({}, "url"),
    ],
)
def test_create_validates(v1: APIClient, body: dict, field: str) -> None:
    response = v1.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_private_url_is_refused_with_its_reason(v1: APIClient, settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = v1.post(URL, {"url": "https://169.254.169.254/latest"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["reason"]) == ("UNSAFE_WEBHOOK_URL", "PRIVATE_ADDRESS")


def test_update_rotate_enable_delete(
    v1: APIClient, trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())

    updated = v1.patch(f"{URL}/{endpoint.pk}", {"description": "new"}, format="json")
    rotated = v1.post(f"{URL}/{endpoint.pk}/rotate-secret")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="x")
    enabled = v1.post(f"{URL}/{endpoint.pk}/enable")
    deleted = v1.delete(f"{URL}/{endpoint.pk}")

    assert updated.json()["data"]["description"] == "new"
    assert rotated.json()["data"]["secret"].startswith("whsec_")
    assert rotated.json()["data"]["previous_secret_expires_at"]
    assert enabled.json()["data"]["enabled"] is True
    assert deleted.status_code == 200
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_send_a_test_event(v1: APIClient, receiver: WebhookReceiver) -> None:
    created = v1.post(
        URL, {"url": receiver.url(), "event_types": ["domain.removed"]}, format="json"
    )
    data = created.json()["data"]

    response = v1.post(f"{URL}/{data['id']}/test")
    relay()

    assert response.status_code == 202
    [received] = receiver.wait_for(1)
    payload = Webhook(data["secret"]).verify(received.body, received.headers)
    assert payload["type"] == "webhook.test"


def _event(trio: OrgTrio, tenant: Tenant | None = None):
    return publish(
        organization=trio.organization, type="domain.verified", obj={"id": "dom_1"}, tenant=tenant
    )


def test_events_with_delivery_status_filter_attempts_and_resend(
    v1: APIClient, trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    receiver.reply(Reply(500))
    failing = _event(trio)
    relay()
    ok = _event(trio)
    relay()

    failed_list = v1.get("/api/v1/events", {"delivery_status": "pending"}).json()["data"]
    succeeded_list = v1.get("/api/v1/events", {"delivery_status": "succeeded"}).json()["data"]
    detail = v1.get(f"/api/v1/events/{failing.pk}").json()["data"]
    delivery_id = detail["deliveries"][0]["id"]
    attempts = v1.get(f"/api/v1/webhook-deliveries/{delivery_id}").json()["data"]["attempt_log"]
    resent = v1.post(f"/api/v1/webhook-deliveries/{delivery_id}/resend")
    relay()

    assert [e["id"] for e in failed_list] == [failing.pk]
    assert [e["id"] for e in succeeded_list] == [ok.pk]
    assert attempts[0]["status_code"] == 500
    assert resent.status_code == 202
    assert resent.json()["data"]["replay_of_id"] == delivery_id
    assert [r.headers["webhook-id"] for r in receiver.wait_for(3)].count(failing.pk) == 2
    assert endpoint.pk


def test_recover_failed_since(v1: APIClient, trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    receiver.default = Reply(500)
    events = [_event(trio) for _ in range(3)]
    relay()
    WebhookDelivery.objects.update(status="failed", finished_at=timezone.now())
    receiver.default = Reply(200)
    receiver.received.clear()

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    response = v1.post(f"{URL}/{endpoint.pk}/recover", {"since": since}, format="json")
    relay()
    again = v1.post(f"{URL}/{endpoint.pk}/recover", {"since": since}, format="json")

    assert response.json()["data"] == {"messages": 3}
    assert again.json()["data"] == {"messages": 0}  # already delivered
    assert {r.headers["webhook-id"] for r in receiver.wait_for(3)} == {e.pk for e in events}


def test_resend_to_a_disabled_endpoint_is_a_conflict(
    v1: APIClient, trio: OrgTrio, receiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    event = _event(trio)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    delivery = WebhookDelivery.objects.get(event=event)

    response = v1.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend")

    assert (response.status_code, response.json()["code"]) == (409, "ENDPOINT_DISABLED")


def test_event_types_are_listed(v1: APIClient) -> None:
    types = {t["type"] for t in v1.get("/api/v1/event-types").json()["data"]}

    assert {"domain.verified", "domain.removed", "webhook.test"} <= types


def test_staff_reads_but_cannot_change(staff_session: APIClient, trio: OrgTrio, receiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())

    assert staff_session.get("/api/internal/webhook-endpoints").status_code == 200
    assert (
        staff_session.post(
            "/api/internal/webhook-endpoints", {"url": receiver.url()}, format="json"
        ).status_code
        == 403
    )
    assert staff_session.delete(f"/api/internal/webhook-endpoints/{endpoint.pk}").status_code == 403


def test_another_organization_sees_none_of_it(
    outsider_v1: APIClient, trio: OrgTrio, receiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    event = _event(trio)
    delivery = WebhookDelivery.objects.get(event=event)

    for path in (
        f"{URL}/{endpoint.pk}",
        f"/api/v1/events/{event.pk}",
        f"/api/v1/webhook-deliveries/{delivery.pk}",
    ):
        assert outsider_v1.get(path).status_code == 404
    assert outsider_v1.post(f"{URL}/{endpoint.pk}/test").status_code == 404
    assert outsider_v1.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend").status_code == 404
    assert outsider_v1.get("/api/v1/events").json()["data"] == []


def test_a_tenant_endpoint_gets_only_that_tenants_events(
    v1: APIClient, trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    mine = Tenant.objects.create(organization=trio.organization, name="Mine")
    theirs = Tenant.objects.create(organization=trio.organization, name="Theirs")
    created = v1.post(URL, {"url": receiver.url(), "tenant_id": mine.pk}, format="json")

    _event(trio, tenant=theirs)
    _event(trio, tenant=None)
    mine_event = _event(trio, tenant=mine)
    relay()

    assert created.json()["data"]["tenant_id"] == mine.pk
    assert [r.headers["webhook-id"] for r in receiver.wait_for(1)] == [mine_event.pk]


def test_another_organizations_tenant_cannot_be_bound(
    v1: APIClient, trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    foreign = Tenant.objects.create(organization=trio.other_organization, name="Foreign")

    response = v1.post(URL, {"url": receiver.url(), "tenant_id": foreign.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"tenant_id": ["No such tenant."]}
    assert delivery_send("dlv_none") is None
