"""The `local` provider end to end: add a domain, publish the returned records in a real DNS
server as a customer would, re-check, verified; then a record removed, unverified."""

import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from audit.models import AuditEvent
from config.crypto import decrypt
from domains.models import SendingDomain
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer, publish
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def add(v1: APIClient, name: str) -> dict:
    response = v1.post("/api/v1/domains", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["data"]


def test_add_publish_verify_unverify(
    v1: APIClient, trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    domain = add(v1, f"Mail.{label}.Example.Test.")

    assert domain["id"].startswith("dom_")
    assert domain["name"] == f"mail.{label}.example.test"
    assert (domain["status"], domain["provider"], domain["region"]) == (
        "pending",
        "local",
        "us-east-1",
    )
    records = {r["purpose"]: r for r in domain["records"]}
    assert set(records) == {"dkim", "spf", "return_path", "dmarc"}
    assert records["dkim"]["hostname"] == f"dk1._domainkey.mail.{label}.example.test"
    assert records["dkim"]["host"] == f"dk1._domainkey.mail.{label}"
    assert records["dkim"]["value"].startswith("v=DKIM1; k=rsa; p=MII")
    assert records["spf"]["value"] == "v=spf1 include:_spf.dk-service.test ~all"
    assert records["return_path"] == records["return_path"] | {
        "type": "CNAME",
        "host": f"bounces.mail.{label}",
        "value": "return.dk-service.test",
    }
    assert records["dmarc"]["required"] is False
    assert (domain["verified_count"], domain["total_count"]) == (0, 4)

    before = v1.post(f"/api/v1/domains/{domain['id']}/verify").json()["data"]
    assert before["domain"]["status"] == "pending"
    assert {r["hint"] for r in before["domain"]["records"]} >= {"not_found"}

    for record in domain["records"]:
        publish(dns, record)
    after = v1.post(f"/api/v1/domains/{domain['id']}/verify").json()

    assert after["data"]["domain"]["status"] == "verified"
    assert after["data"]["changed"] is True
    assert after["data"]["domain"]["verified_count"] == 4
    assert after["data"]["domain"]["verified_at"]
    assert after["message"] == "The domain is verified and can send mail."
    assert AuditEvent.objects.filter(
        action="domain.verified", organization=trio.organization
    ).exists()
    verified = WebhookEvent.objects.get(type="domain.verified")
    assert verified.payload["data"]["object"]["id"] == domain["id"]
    assert verified.payload["data"]["previous_attributes"] == {"status": "pending"}

    dns.delete(records["spf"]["hostname"], "TXT")
    lost = v1.post(f"/api/v1/domains/{domain['id']}/verify").json()["data"]

    assert lost["domain"]["status"] == "pending"
    spf = next(r for r in lost["domain"]["records"] if r["purpose"] == "spf")
    assert (spf["status"], spf["hint"]) == ("pending", "spf_missing")
    assert WebhookEvent.objects.filter(type="domain.unverified").count() == 1
    assert AuditEvent.objects.filter(action="domain.unverified").count() == 1


def test_the_dkim_key_is_2048_bits_and_encrypted_at_rest(
    v1: APIClient, dns: KnotServer, label: str
) -> None:
    data = add(v1, f"mail.{label}.example.test")
    domain = SendingDomain.objects.get(pk=data["id"])

    assert "PRIVATE KEY" not in domain.dkim_private_key_encrypted
    key = serialization.load_pem_private_key(
        decrypt(domain.dkim_private_key_encrypted).encode(), None
    )
    assert key.key_size == 2048
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    assert base64.b64encode(public).decode() in data["records"][0]["value"]


def test_an_existing_spf_record_gets_our_include_merged_in(
    v1: APIClient, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    dns.set(name, "TXT", '"v=spf1 include:_spf.google.com -all"')
    data = add(v1, name)

    checked = v1.post(f"/api/v1/domains/{data['id']}/verify").json()["data"]["domain"]

    spf = next(r for r in checked["records"] if r["purpose"] == "spf")
    assert spf["hint"] == "spf_include_missing"
    assert (
        spf["suggested_value"] == "v=spf1 include:_spf.google.com include:_spf.dk-service.test -all"
    )
    assert "Do not add a second SPF record" in spf["fix"]


def test_a_dkim_value_cut_short_is_named(v1: APIClient, dns: KnotServer, label: str) -> None:
    data = add(v1, f"mail.{label}.example.test")
    dkim = data["records"][0]
    dns.set(dkim["hostname"], "TXT", f'"{dkim["value"][:255]}"')  # a panel that kept 255 chars

    checked = v1.post(f"/api/v1/domains/{data['id']}/verify").json()["data"]["domain"]

    record = checked["records"][0]
    assert record["hint"] == "value_truncated"
    assert "cut short" in record["fix"]


def test_dns_failure_changes_nothing(
    v1: APIClient, trio: OrgTrio, settings, dns: KnotServer, label: str
) -> None:
    data = add(v1, f"mail.{label}.example.test")
    for record in data["records"]:
        publish(dns, record)
    v1.post(f"/api/v1/domains/{data['id']}/verify")
    settings.DNS_NAMESERVERS = "127.0.0.1:9"  # nothing answers
    settings.DNS_TIMEOUT = 0.3

    result = v1.post(f"/api/v1/domains/{data['id']}/verify").json()

    assert result["data"]["transient"] is True
    assert result["data"]["domain"]["status"] == "verified"
    assert "Nothing changed" in result["message"]
    assert not WebhookEvent.objects.filter(type="domain.unverified").exists()


def test_diagnose_shows_hints_and_the_apex(
    v1: APIClient, staff_session: APIClient, dns: KnotServer, label: str
) -> None:
    data = add(v1, f"mail.{label}.example.test")
    dns.set(f"{label}.example.test", "A", "104.16.1.1")

    response = staff_session.post(f"/api/internal/domains/{data['id']}/diagnose")

    assert response.status_code == 200
    body = response.json()["data"]
    assert [r["outcome"] for r in body["records"]] == ["missing"] * 4
    assert body["apex"]["name"] == "example.test"
    assert body["summary"]["total"] == 4
    assert body["provider"]["name"] == "local"
