"""The sending-domain admin actions: re-check now, and restart verification of an SES
identity that SES gave up on."""

import re

import pytest
from django.contrib.admin.utils import quote

from accounts.models import Tenant
from audit.models import AuditEvent
from domains.models import SendingDomain
from domains.services import sending_domain_create
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer, publish_records
from tests.domains.conftest import identity, stubbed_ses
from tests.test_admin import run_action, superuser_client, text
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db

TOKENS = ["tok1aaaa", "tok2bbbb", "tok3cccc"]


def test_recheck_now_verifies_a_published_domain_and_says_so(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    domain = sending_domain_create(
        organization=trio.organization, name=f"mail.{label}.example.test"
    )
    publish_records(dns, domain)

    page = text(run_action(superuser_client(), SendingDomain, "recheck", [domain]))

    domain.refresh_from_db()
    assert domain.status == "verified"
    assert f"Re-checked, now verified: 1 ({domain.name})" in page
    assert AuditEvent.objects.filter(action="domain.recheck_requested").count() == 1
    assert AuditEvent.objects.filter(action="admin.sending_domain.action").exists()
    assert WebhookEvent.objects.filter(type="domain.verified").count() == 1


def test_recheck_now_reports_a_check_that_could_not_run_and_changes_nothing(
    trio: OrgTrio,
) -> None:
    # No `dns` fixture: every question goes to 127.0.0.1:9 and fails, which is transient.
    domain = sending_domain_create(organization=trio.organization, name="mail.example.test")

    page = text(run_action(superuser_client(), SendingDomain, "recheck", [domain]))

    domain.refresh_from_db()
    assert domain.status == "pending"
    assert "Skipped 1, not checked just now, status unchanged" in page
    assert not WebhookEvent.objects.filter(type__in=["domain.verified", "domain.failed"]).exists()


def _failed_ses_domain(trio: OrgTrio, name: str) -> SendingDomain:
    with stubbed_ses() as stub:
        stub.add_response("create_email_identity", identity(tokens=TOKENS), {"EmailIdentity": name})
        domain = sending_domain_create(organization=trio.organization, name=name)
    SendingDomain.objects.filter(pk=domain.pk).update(status=SendingDomain.Status.FAILED)
    domain.refresh_from_db()
    return domain


def test_restart_verification_starts_a_failed_ses_identity_over(
    trio: OrgTrio, ses: None, dns: KnotServer, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _failed_ses_domain(trio, name)
    fresh = ["r1", "r2", "r3"]

    with stubbed_ses() as stub:
        stub.add_response("delete_email_identity", {}, {"EmailIdentity": name})
        stub.add_response("create_email_identity", identity(tokens=fresh), {"EmailIdentity": name})
        stub.add_response("get_email_identity", identity(tokens=fresh), {"EmailIdentity": name})
        page = text(run_action(superuser_client(), SendingDomain, "restart_verification", [domain]))

    domain.refresh_from_db()
    assert domain.status == "pending"
    assert domain.ses_dkim_tokens == fresh
    assert f"Restarted, now pending: 1 ({name})" in page
    assert AuditEvent.objects.filter(action="domain.verification_restarted").count() == 1


def test_restart_verification_skips_what_has_nothing_to_restart(trio: OrgTrio) -> None:
    pending = sending_domain_create(organization=trio.organization, name="a.example.test")
    verified = sending_domain_create(organization=trio.organization, name="b.example.test")
    SendingDomain.objects.filter(pk=verified.pk).update(
        provider=SendingDomain.Provider.SES, status=SendingDomain.Status.VERIFIED
    )

    page = text(
        run_action(superuser_client(), SendingDomain, "restart_verification", [pending, verified])
    )

    assert (
        "Skipped 1, self-managed DKIM has no provider verification to restart: a.example.test."
        in page
    )
    assert (
        "Skipped 1, verified, only failed domains restart (use Re-check now): b.example.test."
        in page
    )
    assert not AuditEvent.objects.filter(action="domain.recheck_requested").exists()
    assert SendingDomain.objects.get(pk=verified.pk).status == "verified"


def test_a_failed_restart_at_ses_is_reported_as_skipped(
    trio: OrgTrio, ses: None, label: str
) -> None:
    name = f"mail.{label}.example.test"
    domain = _failed_ses_domain(trio, name)

    with stubbed_ses() as stub:
        stub.add_client_error("delete_email_identity", "BadRequestException", "nope", 400)
        stub.add_client_error("create_email_identity", "BadRequestException", "nope", 400)
        stub.add_client_error("get_email_identity", "BadRequestException", "nope", 400)
        page = text(run_action(superuser_client(), SendingDomain, "restart_verification", [domain]))

    assert SendingDomain.objects.get(pk=domain.pk).status == "failed"
    # The list under the messages shows the domain too: the name must be the skip's.
    assert re.search(rf"Skipped 1, SES did not start over \([^<]+\): {re.escape(name)}\.", page)


# --- found in review -----------------------------------------------------------------------


def test_what_a_recheck_cannot_finish_in_its_time_budget_goes_to_the_worker(
    trio: OrgTrio, dns: KnotServer, label: str, monkeypatch
) -> None:
    monkeypatch.setattr("domains.admin.ACTION_TIME_BUDGET", -1.0)  # spent before the first
    domains = [
        sending_domain_create(organization=trio.organization, name=f"{n}.{label}.example.test")
        for n in ("a", "b")
    ]
    for domain in domains:
        publish_records(dns, domain)

    page = text(run_action(superuser_client(), SendingDomain, "recheck", domains))

    assert "Queued for the worker (checked within a minute): 2" in page
    # The worker (eager in tests) ran the engine's check on both.
    assert set(SendingDomain.objects.values_list("status", flat=True)) == {"verified"}


def _change_form_data(client, domain: SendingDomain) -> dict:
    page = client.get(f"/admin/domains/sendingdomain/{quote(domain.pk)}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        {
            "records-TOTAL_FORMS": str(domain.records.count()),
            "records-INITIAL_FORMS": str(domain.records.count()),
            "records-MIN_NUM_FORMS": "0",
            "records-MAX_NUM_FORMS": "1000",
        }
    )
    for i, record in enumerate(domain.records.all()):
        data[f"records-{i}-id"] = record.pk
        data[f"records-{i}-domain"] = domain.pk
    return data


def test_staff_bind_only_the_domains_own_organizations_tenant_and_nothing_else_changes(
    trio: OrgTrio,
) -> None:
    domain = sending_domain_create(organization=trio.organization, name="mail.example.test")
    ours = Tenant.objects.create(organization=trio.organization, name="Ours")
    theirs = Tenant.objects.create(organization=trio.other_organization, name="Theirs")
    client = superuser_client()

    refused = client.post(
        f"/admin/domains/sendingdomain/{quote(domain.pk)}/change/",
        {**_change_form_data(client, domain), "tenant": theirs.pk},
    )
    assert refused.status_code == 200  # the form again, with the error
    assert refused.context["adminform"].form.errors["tenant"]

    moved = client.post(
        f"/admin/domains/sendingdomain/{quote(domain.pk)}/change/",
        {
            **_change_form_data(client, domain),
            "tenant": ours.pk,
            "organization": trio.other_organization.pk,
            "region": "xx-nowhere-9",
            "warmup_total_days": "30000",
        },
    )
    assert moved.status_code == 302
    domain.refresh_from_db()
    assert domain.tenant == ours
    assert domain.organization == trio.organization
    assert domain.region == "us-east-1"
    assert domain.warmup_total_days == 14
    assert WebhookEvent.objects.filter(type="domain.tenant_changed").count() == 1
