"""The webhooks pages of the dashboard: owners act, staff read, outsiders see nothing."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Tenant
from audit.models import AuditEvent
from tests.conftest import OrgTrio, session_client
from tests.webhook_receiver import Reply, WebhookReceiver
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_send, endpoint_create, publish, signing_secrets

pytestmark = pytest.mark.django_db

LIST = "/overview/webhooks"


def page(endpoint: WebhookEndpoint, action: str = "") -> str:
    return f"{LIST}/{endpoint.pk}{'/' + action if action else ''}"


def failed_delivery(endpoint: WebhookEndpoint) -> WebhookDelivery:
    event = publish(
        organization=endpoint.organization_id,
        type="domain.verified",
        obj={"id": "dom_x", "kind": "sending_domain"},
    )
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None, finished_at=timezone.now()
    )
    return delivery


def test_owner_creates_an_endpoint_and_sees_its_secret_only_in_that_response(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    owner = session_client(trio.owner)

    response = owner.post(
        LIST,
        {"url": receiver.url(), "description": "orders", "event_types": ["domain.verified"]},
    )

    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(organization=trio.organization)
    assert (endpoint.url, endpoint.description, endpoint.event_types) == (
        receiver.url(),
        "orders",
        ["domain.verified"],
    )
    secret = signing_secrets(endpoint)[0]
    body = response.content.decode()
    assert f'data-copy="{secret}"' in body
    assert response["Cache-Control"] == "no-store"
    assert secret not in owner.get(LIST).content.decode()
    assert secret not in owner.get(page(endpoint)).content.decode()


def test_the_list_shows_status_reason_event_types_and_tenant(
    trio: OrgTrio, receiver: WebhookReceiver, tenant: Tenant
) -> None:
    endpoint, _ = endpoint_create(
        organization=trio.organization,
        url=receiver.url(),
        event_types=["domain.removed"],
        tenant=tenant,
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_reason="The endpoint answered 410 Gone."
    )

    body = session_client(trio.owner).get(LIST).content.decode()

    assert receiver.url() in body
    assert "badge disabled" in body
    assert "The endpoint answered 410 Gone." in body
    assert "<code>domain.removed</code>" in body
    assert tenant.name in body


def test_an_empty_list_says_so(trio: OrgTrio) -> None:
    owner_body = session_client(trio.owner).get(LIST).content.decode()
    staff_body = session_client(trio.staff).get(LIST).content.decode()

    assert "No webhook endpoints yet" in owner_body
    assert "Add an endpoint" in owner_body
    assert "An owner of Acme can add one" in staff_body


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://10.0.0.1/hook", "not a public address"),
        ("http://10.0.0.1/hook", "must use https://"),
        ("ftp://example.com/hook", "https://"),
        ("", "This field is required"),
    ],
)
def test_an_unusable_url_is_refused_next_to_the_field(
    trio: OrgTrio, settings, url: str, message: str
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = session_client(trio.owner).post(LIST, {"url": url})

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["url"]
    assert message.lower() in " ".join(errors["url"]).lower()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_type_is_refused(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    response = session_client(trio.owner).post(
        LIST, {"url": receiver.url(), "event_types": ["domain.exploded"]}
    )

    assert response.status_code == 400
    assert "event_types" in response.context["form"].errors
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_can_be_bound_to_a_tenant(
    trio: OrgTrio, receiver: WebhookReceiver, tenant: Tenant
) -> None:
    other_tenant = Tenant.objects.create(organization=trio.other_organization, name="Theirs")
    owner = session_client(trio.owner)

    refused = owner.post(LIST, {"url": receiver.url(), "tenant": other_tenant.pk})
    created = owner.post(LIST, {"url": receiver.url(), "tenant": tenant.pk})

    assert refused.status_code == 400
    assert "tenant" in refused.context["form"].errors
    assert created.status_code == 200
    assert WebhookEndpoint.objects.get(organization=trio.organization).tenant == tenant


def test_owner_edits_url_and_event_types(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    new_url = receiver.url().rstrip("/") + "/v2"

    response = session_client(trio.owner).post(
        page(endpoint), {"url": new_url, "event_types": ["domain.created", "domain.removed"]}
    )

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == new_url
    assert endpoint.event_types == ["domain.created", "domain.removed"]
    assert AuditEvent.objects.filter(action="webhook_endpoint.updated").exists()


def test_an_edit_to_an_unsafe_url_shows_the_error_and_changes_nothing(
    trio: OrgTrio, receiver: WebhookReceiver, settings
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = session_client(trio.owner).post(page(endpoint), {"url": "https://169.254.169.254/"})

    assert response.status_code == 400
    assert "url" in response.context["form"].errors
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url()


def test_rotating_shows_the_new_secret_once(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, old_secret = endpoint_create(organization=trio.organization, url=receiver.url())
    owner = session_client(trio.owner)

    response = owner.post(page(endpoint, "rotate-secret"))

    assert response.status_code == 200
    endpoint.refresh_from_db()
    new_secret, previous = signing_secrets(endpoint)
    assert previous == old_secret
    assert new_secret != old_secret
    assert f'data-copy="{new_secret}"' in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert new_secret not in owner.get(page(endpoint)).content.decode()


def test_owner_disables_by_hand_as_themselves_and_enables_again(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    owner = session_client(trio.owner)

    disabled = owner.post(page(endpoint, "disable"))

    assert disabled.status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert trio.owner.email in endpoint.disabled_reason
    event = AuditEvent.objects.get(action="webhook_endpoint.disabled")
    assert (event.actor_type, event.actor_name) == ("user", trio.owner.email)
    assert mail.outbox == []
    assert "Enable" in owner.get(page(endpoint)).content.decode()

    enabled = owner.post(page(endpoint, "enable"))

    assert enabled.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.disabled_reason == ""


def test_a_test_event_is_queued_and_listed(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    owner = session_client(trio.owner)

    response = owner.post(page(endpoint, "test"), follow=True)

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.type == "webhook.test"
    body = response.content.decode()
    assert "Test event" in body
    assert f"/deliveries/{delivery.pk}" in body


def test_a_disabled_endpoint_gets_no_test_event(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)

    response = session_client(trio.owner).post(page(endpoint, "test"), follow=True)

    assert "enable it first" in response.content.decode()
    assert not WebhookDelivery.objects.exists()


def test_recover_queues_failed_messages_since_a_time(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    failed = failed_delivery(endpoint)
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = session_client(trio.owner).post(
        page(endpoint, "recover"), {"since": since}, follow=True
    )

    again = WebhookDelivery.objects.get(endpoint=endpoint, status=WebhookDelivery.Status.PENDING)
    assert again.event_id == failed.event_id
    assert "1 failed message queued again." in response.content.decode()


@pytest.mark.parametrize(
    ("since", "enabled", "error"),
    [
        ("", True, "This field is required"),
        ("yesterday", True, "Enter a valid date/time"),
        ((timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"), True, "in the past"),
        ("2020-01-01T00:00", False, "enable it first"),
    ],
)
def test_recover_shows_what_is_wrong(
    trio: OrgTrio, receiver: WebhookReceiver, since: str, enabled: bool, error: str
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    failed_delivery(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=enabled)

    response = session_client(trio.owner).post(page(endpoint, "recover"), {"since": since})

    assert response.status_code == 400
    assert error in str(response.context["recover_form"].errors)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1


def test_the_delivery_page_lists_attempts_and_resends(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    event = publish(organization=trio.organization, type="domain.created", obj={"id": "dom_1"})
    delivery = WebhookDelivery.objects.get(event=event)
    receiver.reply(Reply(503, body=b"upstream down for maintenance"))
    delivery_send(delivery.pk)
    owner = session_client(trio.owner)
    url = f"{page(endpoint)}/deliveries/{delivery.pk}"

    shown = owner.get(url)
    listed = owner.get(page(endpoint)).content.decode()
    resent = owner.post(f"{url}/resend")

    body = shown.content.decode()
    assert shown.status_code == 200
    assert "503" in body
    assert "upstream down for maintenance" in body
    assert " ms</td>" in body
    assert "HTTP 503" in listed
    again = WebhookDelivery.objects.get(replay_of=delivery)
    assert again.event_id == delivery.event_id
    assert resent.status_code == 302
    assert resent["Location"].endswith(f"/deliveries/{again.pk}")


def test_deliveries_are_filtered_by_status(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    failed = failed_delivery(endpoint)
    event = publish(organization=trio.organization, type="domain.created", obj={"id": "dom_2"})
    pending = WebhookDelivery.objects.get(event=event)
    owner = session_client(trio.owner)

    only_failed = owner.get(page(endpoint), {"status": "failed"})
    every = owner.get(page(endpoint))
    none_succeeded = owner.get(page(endpoint), {"status": "succeeded"})

    assert [d.pk for d in only_failed.context["page"].object_list] == [failed.pk]
    assert {d.pk for d in every.context["page"].object_list} == {failed.pk, pending.pk}
    assert "No deliveries with this status" in none_succeeded.content.decode()


def test_owner_deletes_an_endpoint(trio: OrgTrio, receiver: WebhookReceiver) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())

    response = session_client(trio.owner).post(page(endpoint, "delete"))

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_staff_sees_everything_but_every_change_is_refused(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    delivery = failed_delivery(endpoint)
    staff = session_client(trio.staff)
    before = (
        WebhookEndpoint.objects.values().get(pk=endpoint.pk),
        WebhookDelivery.objects.count(),
    )

    listed = staff.get(LIST)
    shown = staff.get(page(endpoint))
    delivery_page = staff.get(f"{page(endpoint)}/deliveries/{delivery.pk}")
    refused = [
        staff.post(LIST, {"url": receiver.url()}),
        staff.post(page(endpoint), {"url": receiver.url() + "x"}),
        *(
            staff.post(page(endpoint, action), {"since": "2020-01-01T00:00"})
            for action in ("rotate-secret", "disable", "enable", "test", "recover", "delete")
        ),
        staff.post(f"{page(endpoint)}/deliveries/{delivery.pk}/resend"),
    ]

    assert (listed.status_code, shown.status_code, delivery_page.status_code) == (200, 200, 200)
    assert receiver.url() in listed.content.decode()
    for body in (listed.content.decode(), shown.content.decode()):
        assert "Add an endpoint" not in body
        assert "Rotate secret" not in body
        assert "Delete endpoint" not in body
    assert "Resend</button>" not in delivery_page.content.decode()
    assert [r.status_code for r in refused] == [403] * len(refused)
    after = (
        WebhookEndpoint.objects.values().get(pk=endpoint.pk),
        WebhookDelivery.objects.count(),
    )
    assert after == before
    assert WebhookEndpoint.objects.count() == 1
    denials = AuditEvent.objects.filter(action="authorization.denied", actor_id=str(trio.staff.pk))
    assert denials.count() == len(refused)


def test_another_organization_sees_nothing_and_gets_404(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    endpoint, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    delivery = failed_delivery(endpoint)
    outsider = session_client(trio.outsider)
    delivery_url = f"{page(endpoint)}/deliveries/{delivery.pk}"

    listed = outsider.get(LIST).content.decode()
    answers = [
        outsider.get(page(endpoint)),
        outsider.get(delivery_url),
        outsider.post(page(endpoint), {"url": receiver.url()}),
        *(
            outsider.post(page(endpoint, action))
            for action in ("rotate-secret", "disable", "enable", "test", "recover", "delete")
        ),
        outsider.post(f"{delivery_url}/resend"),
    ]

    assert receiver.url() not in listed
    assert [r.status_code for r in answers] == [404] * len(answers)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()
    assert WebhookDelivery.objects.count() == 1


def test_a_delivery_is_found_only_under_its_own_endpoint(
    trio: OrgTrio, receiver: WebhookReceiver
) -> None:
    first, _ = endpoint_create(organization=trio.organization, url=receiver.url())
    second, _ = endpoint_create(organization=trio.organization, url=receiver.url() + "2")
    delivery = failed_delivery(first)

    response = session_client(trio.owner).get(f"{page(second)}/deliveries/{delivery.pk}")

    assert response.status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(trio: OrgTrio) -> None:
    response = Client().get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
