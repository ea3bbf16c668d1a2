"""The webhook admin: endpoints disabled and enabled through the services, deliveries
resent with the same webhook-id, and a change permission needed for each."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from tests.conftest import OrgTrio
from tests.test_admin import admin_url, run_action, staff_client, superuser_client, text
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_disable, publish

pytestmark = pytest.mark.django_db


def _delivery(trio: OrgTrio, endpoint: WebhookEndpoint) -> WebhookDelivery:
    event = publish(organization=trio.organization, type="domain.verified", obj={"id": "dom_1"})
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, attempts=10, next_attempt_at=None
    )
    return delivery


def test_resend_queues_the_same_message_again(trio: OrgTrio, endpoint: WebhookEndpoint) -> None:
    delivery = _delivery(trio, endpoint)

    page = text(run_action(superuser_client(), WebhookDelivery, "resend", [delivery]))

    again = WebhookDelivery.objects.get(replay_of=delivery)
    assert (again.event_id, again.endpoint_id) == (delivery.event_id, endpoint.pk)
    assert f"Queued again (same webhook-id): 1 ({delivery.pk} as {again.pk})" in page
    resent = AuditEvent.objects.get(action="webhook_delivery.resent")
    assert resent.metadata == {"delivery": delivery.pk, "resend": again.pk}


def test_resend_to_a_disabled_endpoint_is_skipped_with_the_reason(
    trio: OrgTrio, endpoint: WebhookEndpoint
) -> None:
    delivery = _delivery(trio, endpoint)
    endpoint_disable(endpoint=endpoint, reason="test")

    page = text(run_action(superuser_client(), WebhookDelivery, "resend", [delivery]))

    assert not WebhookDelivery.objects.filter(replay_of=delivery).exists()
    assert f"Skipped 1, the endpoint is disabled: enable it first: {delivery.pk}." in page


def test_resend_needs_the_change_permission_though_deliveries_stay_read_only(
    trio: OrgTrio, endpoint: WebhookEndpoint
) -> None:
    delivery = _delivery(trio, endpoint)
    client = staff_client("webhooks.view_webhookdelivery", "webhooks.change_webhookdelivery")

    run_action(client, WebhookDelivery, "resend", [delivery])

    assert WebhookDelivery.objects.filter(replay_of=delivery).count() == 1
    assert client.post(admin_url(delivery), {}).status_code == 403


def test_disable_cancels_queued_deliveries_and_enable_brings_it_back(
    trio: OrgTrio, endpoint: WebhookEndpoint
) -> None:
    publish(organization=trio.organization, type="domain.verified", obj={"id": "dom_1"})
    client = superuser_client()

    disabled = text(run_action(client, WebhookEndpoint, "disable", [endpoint]))
    again = text(run_action(client, WebhookEndpoint, "disable", [endpoint]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "Disabled by root@example.test (staff)."
    assert f"Disabled: 1 ({endpoint.url})" in disabled
    assert f"Skipped 1, already disabled: {endpoint.url}" in again
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"cancelled"}
    disabled_event = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert (disabled_event.actor_type, disabled_event.actor_name) == ("user", "root@example.test")

    enabled = text(run_action(client, WebhookEndpoint, "enable", [endpoint]))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""
    assert f"Enabled: 1 ({endpoint.url})" in enabled
    assert AuditEvent.objects.filter(action="webhook_endpoint.enabled").count() == 1


def test_enable_skips_an_endpoint_whose_url_is_refused_now(
    settings, trio: OrgTrio, endpoint: WebhookEndpoint
) -> None:
    endpoint_disable(endpoint=endpoint, reason="test")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # the receiver listens on loopback

    page = text(run_action(superuser_client(), WebhookEndpoint, "enable", [endpoint]))

    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).enabled
    assert "Skipped 1, the URL is refused now" in page


def test_the_description_is_edited_through_the_service(
    trio: OrgTrio, endpoint: WebhookEndpoint
) -> None:
    client: Client = superuser_client()

    response = client.post(admin_url(endpoint), {"description": "Billing hooks"})

    assert response.status_code == 302
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).description == "Billing hooks"
    updated = AuditEvent.objects.get(action="webhook_endpoint.updated")
    assert updated.changes == {"description": ["", "Billing hooks"]}


def test_deleting_an_endpoint_goes_through_the_service(
    trio: OrgTrio, endpoint: WebhookEndpoint
) -> None:
    response = superuser_client().post(admin_url(endpoint, "delete"), {"post": "yes"})

    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert AuditEvent.objects.filter(action="webhook_endpoint.deleted").count() == 1
