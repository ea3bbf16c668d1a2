"""The SES provider: moto for the happy paths, botocore's Stubber for what moto cannot
answer (tokens, AlreadyExists, throttling, DKIM statuses, VerificationInfo)."""

import logging
from datetime import timedelta

import boto3
import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create, organization_create, user_get_or_create
from audit.models import AuditEvent
from domains.models import SendingDomain
from domains.providers.ses import ses_client
from tests.conftest import bearer_client
from tests.dns_server import KnotServer
from tests.domains.conftest import identity, stubbed_ses
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

TOKENS = ["tok1aaaa", "tok2bbbb", "tok3cccc"]


def test_moto_add_list_and_delete(v1: APIClient, ses: None, dns: KnotServer, label: str) -> None:
    name = f"mail.{label}.example.test"

    created = v1.post("/api/v1/domains", {"name": name, "region": "eu-west-1"}, format="json")
    listed = v1.get("/api/v1/domains", {"status": "pending"}).json()["data"]
    deleted = v1.delete(f"/api/v1/domains/{created.json()['data']['id']}")

    assert created.status_code == 201
    assert created.json()["data"]["provider"] == "ses"
    assert [d["name"] for d in listed] == [name]
    assert deleted.status_code == 200
    sesv2 = boto3.client("sesv2", region_name="eu-west-1")
    assert sesv2.list_email_identities()["EmailIdentities"] == []
    assert WebhookEvent.objects.filter(type="domain.removed").count() == 1


def _add_with_tokens(v1: APIClient, name: str, **body: str) -> dict:
    with stubbed_ses(body.get("region", "us-east-1")) as stub:
        stub.add_response(
            "create_email_identity",
            {
                "IdentityType": "DOMAIN",
                "VerifiedForSendingStatus": False,
                "DkimAttributes": {"Tokens": TOKENS, "Status": "PENDING"},
            },
            {"EmailIdentity": name},
        )
        response = v1.post("/api/v1/domains", {"name": name, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def test_the_three_dkim_cnames(v1: APIClient, ses: None, label: str) -> None:
    name = f"mail.{label}.example.test"

    data = _add_with_tokens(v1, name)

    assert [(r["type"], r["hostname"], r["value"], r["host"]) for r in data["records"]] == [
        (
            "CNAME",
            f"{t}._domainkey.{name}",
            f"{t}.dkim.amazonses.com",
            f"{t}._domainkey.mail.{label}",
        )
        for t in TOKENS
    ]


def _verify(v1: APIClient, domain_id: str, name: str, response: dict) -> dict:
    with stubbed_ses() as stub:
        stub.add_response("get_email_identity", response, {"EmailIdentity": name})
        result = v1.post(f"/api/v1/domains/{domain_id}/verify")
    assert result.status_code == 200, result.content
    return result.json()


@pytest.mark.parametrize(
    ("dkim_status", "verified", "status"),
    [
        ("PENDING", False, "pending"),
        ("TEMPORARY_FAILURE", False, "pending"),
        ("SUCCESS", True, "verified"),
        ("FAILED", False, "failed"),
    ],
)
def test_ses_decides_the_status(
    v1: APIClient,
    ses: None,
    dns: KnotServer,
    label: str,
    dkim_status: str,
    verified: bool,
    status: str,
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)

    result = _verify(
        v1, domain["id"], name, identity(tokens=TOKENS, verified=verified, dkim_status=dkim_status)
    )

    assert result["data"]["domain"]["status"] == status
    assert result["data"]["provider"]["dkim_status"] == dkim_status
    assert result["data"]["transient"] is False


def test_ses_error_type_is_shown_beside_our_hints(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)

    result = _verify(
        v1,
        domain["id"],
        name,
        identity(tokens=TOKENS, dkim_status="PENDING", error_type="HOST_NOT_FOUND"),
    )

    assert result["data"]["provider"]["error_type"] == "HOST_NOT_FOUND"
    assert result["data"]["domain"]["provider_error_type"] == "HOST_NOT_FOUND"
    assert {r["hint"] for r in result["data"]["domain"]["records"]} == {"not_found"}


def test_verified_then_revoked_is_unverified(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)
    _verify(v1, domain["id"], name, identity(tokens=TOKENS, verified=True, dkim_status="SUCCESS"))

    result = _verify(
        v1, domain["id"], name, identity(tokens=TOKENS, verified=False, dkim_status="PENDING")
    )

    assert result["data"]["domain"]["status"] == "pending"
    assert [e.type for e in WebhookEvent.objects.order_by("created_at")][-2:] == [
        "domain.verified",
        "domain.unverified",
    ]
    assert AuditEvent.objects.filter(action="domain.unverified").exists()


def test_throttling_on_recheck_changes_nothing(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)
    _verify(v1, domain["id"], name, identity(tokens=TOKENS, verified=True, dkim_status="SUCCESS"))

    with stubbed_ses() as stub:
        for _ in range(3):  # standard retry mode tries three times
            stub.add_client_error(
                "get_email_identity", "TooManyRequestsException", "slow down", 429
            )
        result = v1.post(f"/api/v1/domains/{domain['id']}/verify").json()

    assert result["data"]["transient"] is True
    assert result["data"]["domain"]["status"] == "verified"
    assert "Nothing changed" in result["message"]


def test_throttling_on_add_is_a_503_and_nothing_is_kept(
    v1: APIClient, ses: None, label: str
) -> None:
    with stubbed_ses() as stub:
        for _ in range(3):
            stub.add_client_error("create_email_identity", "TooManyRequestsException", "slow", 429)
        response = v1.post("/api/v1/domains", {"name": f"mail.{label}.example.test"}, format="json")

    assert (response.status_code, response.json()["code"]) == (503, "PROVIDER_UNAVAILABLE")
    assert not SendingDomain.objects.exists()


def _other_org_client(email: str) -> APIClient:
    user, _ = user_get_or_create(email=email)
    org = organization_create(name="Rival", owner=user)
    return bearer_client(api_key_create(organization=org, name="k", created_by=user).raw_key)


def test_an_identity_another_account_is_verifying_is_a_409(
    v1: APIClient, owner_session: APIClient, ses: None, label: str
) -> None:
    name = f"mail.{label}.example.test"
    rival = _other_org_client("rival@example.test")
    _add_with_tokens(rival, name)

    with stubbed_ses() as stub:
        stub.add_client_error("create_email_identity", "AlreadyExistsException", "exists", 400)
        stub.add_client_error("create_email_identity", "AlreadyExistsException", "exists", 400)
        v1_response = v1.post("/api/v1/domains", {"name": name}, format="json")
        internal = owner_session.post("/api/internal/domains", {"domain": name}, format="json")

    assert (v1_response.status_code, v1_response.json()["code"]) == (
        409,
        "DOMAIN_TAKEN_AT_PROVIDER",
    )
    assert internal.status_code == 409
    assert "expires after 3 days" in internal.json()["message"]


def test_an_expired_claim_gives_way_to_the_real_owner(v1: APIClient, ses: None, label: str) -> None:
    name = f"mail.{label}.example.test"
    rival = _other_org_client("rival@example.test")
    with time_machine.travel(timezone.now() - timedelta(days=4)):
        stale = _add_with_tokens(rival, name)

    fresh = ["new1aaaa", "new2bbbb", "new3cccc"]
    with stubbed_ses() as stub:
        stub.add_client_error("create_email_identity", "AlreadyExistsException", "exists", 400)
        stub.add_response("delete_email_identity", {}, {"EmailIdentity": name})
        stub.add_response(
            "create_email_identity",
            {
                "IdentityType": "DOMAIN",
                "VerifiedForSendingStatus": False,
                "DkimAttributes": {"Tokens": fresh, "Status": "PENDING"},
            },
            {"EmailIdentity": name},
        )
        response = v1.post("/api/v1/domains", {"name": name}, format="json")

    assert response.status_code == 201
    # fresh tokens: nothing the stale claimant published can verify the new owner
    assert [r["value"].split(".")[0] for r in response.json()["data"]["records"]] == fresh
    assert not SendingDomain.objects.filter(pk=stale["id"]).exists()


def test_a_claim_that_was_ever_verified_never_gives_way(
    v1: APIClient, ses: None, label: str
) -> None:
    name = f"mail.{label}.example.test"
    rival = _other_org_client("rival@example.test")
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        claim = _add_with_tokens(rival, name)
    SendingDomain.objects.filter(pk=claim["id"]).update(
        verified_at=timezone.now() - timedelta(days=20)
    )

    with stubbed_ses() as stub:
        stub.add_client_error("create_email_identity", "AlreadyExistsException", "exists", 400)
        response = v1.post("/api/v1/domains", {"name": name}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "DOMAIN_TAKEN_AT_PROVIDER")
    assert SendingDomain.objects.filter(pk=claim["id"]).exists()


def test_moving_region_into_another_orgs_live_claim_is_refused(
    v1: APIClient, ses: None, label: str
) -> None:
    name = f"mail.{label}.example.test"
    rival = _other_org_client("rival@example.test")
    _add_with_tokens(rival, name, region="eu-west-1")
    mine = v1.post("/api/v1/domains", {"name": name}, format="json").json()["data"]

    with stubbed_ses("eu-west-1") as stub:
        stub.add_client_error("create_email_identity", "AlreadyExistsException", "exists", 400)
        response = v1.patch(
            f"/api/v1/domains/{mine['id']}/region", {"region": "eu-west-1"}, format="json"
        )

    assert (response.status_code, response.json()["code"]) == (409, "DOMAIN_TAKEN_AT_PROVIDER")
    assert SendingDomain.objects.get(pk=mine["id"]).region == "us-east-1"


def test_a_verified_domain_whose_dkim_fails_is_unverified_not_failed(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)
    _verify(v1, domain["id"], name, identity(tokens=TOKENS, verified=True, dkim_status="SUCCESS"))

    result = _verify(
        v1, domain["id"], name, identity(tokens=TOKENS, verified=False, dkim_status="FAILED")
    )

    assert result["data"]["domain"]["status"] == "pending"
    assert result["data"]["domain"]["verified_at"] is None
    assert WebhookEvent.objects.filter(type="domain.unverified").count() == 1


def test_an_identity_deleted_at_ses_is_recreated_and_unverified(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)
    _verify(v1, domain["id"], name, identity(tokens=TOKENS, verified=True, dkim_status="SUCCESS"))

    with stubbed_ses() as stub:
        stub.add_client_error("get_email_identity", "NotFoundException", "gone", 404)
        stub.add_response(
            "create_email_identity", identity(tokens=["re1", "re2", "re3"]), {"EmailIdentity": name}
        )
        result = v1.post(f"/api/v1/domains/{domain['id']}/verify").json()["data"]

    assert (result["domain"]["status"], result["transient"]) == ("pending", False)
    assert [r["value"].split(".")[0] for r in result["domain"]["records"]] == ["re1", "re2", "re3"]


def test_a_failed_domain_restarts_with_a_fresh_identity(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)
    _verify(v1, domain["id"], name, identity(tokens=TOKENS, dkim_status="FAILED"))
    assert SendingDomain.objects.get(pk=domain["id"]).status == "failed"

    with stubbed_ses() as stub:
        stub.add_response("delete_email_identity", {}, {"EmailIdentity": name})
        stub.add_response(
            "create_email_identity", identity(tokens=["r1", "r2", "r3"]), {"EmailIdentity": name}
        )
        stub.add_response(
            "get_email_identity", identity(tokens=["r1", "r2", "r3"]), {"EmailIdentity": name}
        )
        result = v1.post(f"/api/v1/domains/{domain['id']}/verify").json()["data"]

    assert result["domain"]["status"] == "pending"
    assert {r["value"].split(".")[0] for r in result["domain"]["records"]} == {"r1", "r2", "r3"}


def test_a_provider_failure_on_delete_is_logged_and_does_not_block(
    v1: APIClient, ses: None, label: str, caplog
) -> None:
    name = f"mail.{label}.example.test"
    domain = _add_with_tokens(v1, name)

    with stubbed_ses() as stub, caplog.at_level(logging.ERROR):
        stub.add_client_error("delete_email_identity", "BadRequestException", "nope", 400)
        response = v1.delete(f"/api/v1/domains/{domain['id']}")

    assert response.status_code == 200
    assert not SendingDomain.objects.filter(pk=domain["id"]).exists()
    assert "reconcile it in the AWS console" in caplog.text
    removed = AuditEvent.objects.get(action="domain.removed")
    assert "BadRequestException" in removed.metadata["provider_error"]


def test_moving_region_creates_the_identity_there(
    v1: APIClient, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    created = v1.post("/api/v1/domains", {"name": name}, format="json").json()["data"]

    response = v1.patch(
        f"/api/v1/domains/{created['id']}/region",
        {"region": "eu-west-1", "fallback_region": "us-east-1"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["data"]["region"], response.json()["data"]["fallback_region"]) == (
        "eu-west-1",
        "us-east-1",
    )
    regional = [
        i["IdentityName"]
        for i in ses_client("eu-west-1").list_email_identities()["EmailIdentities"]
    ]
    assert regional == [name]
    assert ses_client("us-east-1").list_email_identities()["EmailIdentities"] == []


def test_custom_mail_from_records(v1: APIClient, ses: None, label: str) -> None:
    name = f"mail.{label}.example.test"
    with stubbed_ses("eu-west-1") as stub:
        stub.add_response("create_email_identity", identity(tokens=TOKENS), {"EmailIdentity": name})
        stub.add_response(
            "put_email_identity_mail_from_attributes",
            {},
            {
                "EmailIdentity": name,
                "MailFromDomain": f"bounce.{name}",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
        )
        response = v1.post(
            "/api/v1/domains",
            {"name": name, "region": "eu-west-1", "mail_from_label": "bounce"},
            format="json",
        )

    records = response.json()["data"]["records"]
    assert ("MX", f"bounce.{name}", "10 feedback-smtp.eu-west-1.amazonses.com") in [
        (r["type"], r["hostname"], r["value"]) for r in records
    ]
    assert any(r["purpose"] == "mail_from_spf" for r in records)
