"""Sending through SES: moto for the happy path, botocore's Stubber for throttling and
outages, which moto cannot produce. The fallback region is tried once, and only when the
first region failed in a way another region may not (throttling, quota, 5xx)."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from botocore.stub import Stubber
from django.utils import timezone
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from rest_framework.test import APIClient

from domains.counters import send_counter
from domains.models import Message, SendingDomain
from domains.providers.ses import ses_send_client
from domains.services import (
    sending_domain_create,
    sending_domain_set_region,
    sending_domain_start_warmup,
)
from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db


@pytest.fixture
def ses_domain(settings, aws: None, trio: OrgTrio, label: str) -> SendingDomain:
    settings.EMAIL_PROVIDER = "ses"
    domain = sending_domain_create(
        organization=trio.organization, name=f"mail.{label}.example.test", region="eu-west-1"
    )
    sending_domain_set_region(domain=domain, region="eu-west-1", fallback_region="us-east-1")
    SendingDomain.objects.filter(pk=domain.pk).update(status="verified")
    domain.refresh_from_db()
    return domain


@contextmanager
def stubbed_send(*regions: str) -> Iterator[list[Stubber]]:
    stubbers = [Stubber(ses_send_client(region)) for region in regions]
    for stubber in stubbers:
        stubber.activate()
    try:
        yield stubbers
    finally:
        for stubber in stubbers:
            stubber.deactivate()


def _body(domain: SendingDomain) -> dict:
    return {
        "from": f"news@{domain.name}",
        "to": ["ada@example.org"],
        "bcc": ["audit@example.org"],
        "subject": "Receipt",
        "text": "Thanks.",
    }


def test_moto_sends_the_raw_message_in_the_domains_region(
    v1: APIClient, ses_domain: SendingDomain
) -> None:
    response = v1.post("/api/v1/emails", _body(ses_domain), format="json")

    data = response.json()["data"]
    assert response.status_code == 201, response.content
    assert (data["region"], data["fallback_used"], data["provider"]) == ("eu-west-1", False, "ses")
    assert data["provider_message_id"]
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert "audit@example.org" in sent.destinations
    assert "Bcc" not in sent.raw_data  # bcc travels in the envelope only
    assert f"Message-ID: <{data['id']}@{ses_domain.name}>" in sent.raw_data


@pytest.mark.parametrize(
    ("code", "text", "status"),
    [
        ("TooManyRequestsException", "Maximum sending rate exceeded.", 429),
        ("InternalFailure", "Oops.", 500),
    ],
    ids=["throttled", "5xx"],
)
def test_a_throttled_or_failing_region_falls_back_to_the_fallback_region_once(
    v1: APIClient, ses_domain: SendingDomain, code: str, text: str, status: int
) -> None:
    with stubbed_send("eu-west-1", "us-east-1") as (primary, fallback):
        primary.add_client_error("send_email", code, text, status)
        fallback.add_response("send_email", {"MessageId": f"fallback-{code}"})

        response = v1.post("/api/v1/emails", _body(ses_domain), format="json")

        primary.assert_no_pending_responses()
        fallback.assert_no_pending_responses()
    data = response.json()["data"]
    assert response.status_code == 201
    assert (data["region"], data["fallback_used"]) == ("us-east-1", True)
    assert data["provider_message_id"] == f"fallback-{code}"


def test_a_permanent_refusal_is_not_retried_elsewhere(
    v1: APIClient, ses_domain: SendingDomain
) -> None:
    sending_domain_start_warmup(domain=ses_domain)
    with stubbed_send("eu-west-1", "us-east-1") as (primary, _fallback):
        primary.add_client_error(
            "send_email", "MessageRejected", "Email address is not verified.", 400
        )

        response = v1.post("/api/v1/emails", _body(ses_domain), format="json")

        primary.assert_no_pending_responses()  # and the fallback had nothing to answer
    message = Message.objects.get()
    assert (response.status_code, response.json()["code"]) == (422, "MESSAGE_REJECTED")
    assert response.json()["provider_code"] == "MessageRejected"
    assert (message.status, message.region, message.fallback_used) == ("failed", "eu-west-1", False)
    assert send_counter().count(ses_domain.pk, timezone.now().date()) == 0


def test_both_regions_down_is_a_503_with_nothing_counted(
    v1: APIClient, ses_domain: SendingDomain
) -> None:
    sending_domain_start_warmup(domain=ses_domain)
    with stubbed_send("eu-west-1", "us-east-1") as (primary, fallback):
        primary.add_client_error("send_email", "TooManyRequestsException", "Slow down.", 429)
        fallback.add_client_error("send_email", "SendingPausedException", "Paused.", 400)

        response = v1.post("/api/v1/emails", _body(ses_domain), format="json")

    message = Message.objects.get()
    assert (response.status_code, response.json()["code"]) == (503, "PROVIDER_UNAVAILABLE")
    assert (message.status, message.region, message.fallback_used) == ("failed", "us-east-1", True)
    assert message.error_code == "SendingPausedException"
    assert send_counter().count(ses_domain.pk, timezone.now().date()) == 0


def test_without_a_fallback_region_throttling_is_a_503(
    v1: APIClient, ses_domain: SendingDomain
) -> None:
    SendingDomain.objects.filter(pk=ses_domain.pk).update(fallback_region="")
    with stubbed_send("eu-west-1") as (primary,):
        primary.add_client_error("send_email", "TooManyRequestsException", "Slow down.", 429)

        response = v1.post("/api/v1/emails", _body(ses_domain), format="json")

    assert response.status_code == 503


def test_a_fallback_region_without_the_identity_leaves_a_retryable_503(
    v1: APIClient, ses_domain: SendingDomain
) -> None:
    # moto's us-east-1 has no identity for the domain: it refuses to send from it.
    with stubbed_send("eu-west-1") as (primary,):
        primary.add_client_error("send_email", "TooManyRequestsException", "Slow down.", 429)

        response = v1.post(
            "/api/v1/emails", _body(ses_domain), format="json", HTTP_IDEMPOTENCY_KEY="k"
        )

    message = Message.objects.get()
    assert (response.status_code, response.json()["code"]) == (503, "PROVIDER_UNAVAILABLE")
    assert "us-east-1" in message.error_message and "eu-west-1" in message.error_message
    assert message.idempotency_key == ""  # the retry may send
