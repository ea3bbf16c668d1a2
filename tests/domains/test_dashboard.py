"""The sending-domain pages of the dashboard: what the owner, a staff member and an outsider
may see and do, and the forms' errors next to their fields."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Tenant
from audit.models import AuditEvent
from domains.models import Message, SendingDomain
from domains.selectors import WARMUP_CAP_CEILING, sender_cache_forget, warmup_cap
from domains.services import sending_domain_create, sending_domain_delete
from tests.conftest import OrgTrio, session_client
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def domain(trio: OrgTrio) -> SendingDomain:
    return sending_domain_create(organization=trio.organization, name="mail.acme.test")


@pytest.fixture
def other_domain(trio: OrgTrio) -> SendingDomain:
    return sending_domain_create(organization=trio.other_organization, name="mail.globex.test")


def test_the_list_shows_the_organizations_domains_with_status_and_record_counts(
    trio: OrgTrio, domain: SendingDomain, other_domain: SendingDomain
) -> None:
    page = session_client(trio.staff).get("/overview/domains").content.decode()

    assert "mail.acme.test" in page
    assert "mail.globex.test" not in page
    assert "0 of 3 verified" in page  # required records, as the card counts them
    assert 'class="badge pending"' in page


def test_the_list_recommends_a_subdomain_and_only_owners_get_the_add_form(trio: OrgTrio) -> None:
    owner_page = session_client(trio.owner).get("/overview/domains").content.decode()
    staff_page = session_client(trio.staff).get("/overview/domains").content.decode()

    assert "No sending domains yet" in owner_page
    assert "mail.yourcompany.com" in owner_page
    assert "Add domain" in owner_page
    assert "Add domain" not in staff_page


def test_an_owner_adds_a_domain_and_lands_on_its_records(trio: OrgTrio) -> None:
    response = session_client(trio.owner).post("/overview/domains", {"domain": "Send.Acme.TEST."})

    domain = SendingDomain.objects.get(organization=trio.organization)
    assert domain.name == "send.acme.test"
    assert response.url == f"/overview/domains/{domain.pk}"
    page = session_client(trio.owner).get(response.url).content.decode()
    assert "Verify now" in page
    for record in domain.records.all():
        assert f'data-copy="{record.value}"' in page.replace("&quot;", '"')


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required."),
        ("not a domain", "This is not a valid domain name: "),
        ("127.0.0.1", "Enter a domain name, not an IP address."),
    ],
)
def test_a_bad_name_is_shown_next_to_the_field_and_nothing_is_added(
    trio: OrgTrio, name: str, message: str
) -> None:
    response = session_client(trio.owner).post("/overview/domains", {"domain": name})

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["domain"][0].startswith(message)
    assert 'aria-invalid="true"' in response.content.decode()
    assert not SendingDomain.objects.exists()


def test_adding_a_domain_twice_says_so_next_to_the_field(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    response = session_client(trio.owner).post("/overview/domains", {"domain": "mail.acme.test"})

    assert response.status_code == 400
    assert response.context["form"].errors["domain"]
    assert SendingDomain.objects.filter(organization=trio.organization).count() == 1


def test_staff_are_refused_every_change_on_the_server(trio: OrgTrio, domain: SendingDomain) -> None:
    staff = session_client(trio.staff)
    base = f"/overview/domains/{domain.pk}"
    attempts = {
        "/overview/domains": {"domain": "new.acme.test"},
        f"{base}/verify": {},
        f"{base}/warmup": {"total_days": "7"},
        f"{base}/region": {"region": "eu-west-1"},
        f"{base}/tenant": {"tenant": ""},
        f"{base}/test-email": {"to": "a@example.com"},
        f"{base}/delete": {"confirm": "mail.acme.test"},
    }
    for url, data in attempts.items():
        assert staff.post(url, data).status_code == 403, url

    domain.refresh_from_db()
    assert domain.warmup_started_at is None
    assert domain.region == "us-east-1"
    assert SendingDomain.objects.filter(organization=trio.organization).count() == 1
    denied = AuditEvent.objects.filter(action="authorization.denied", outcome="denied")
    assert denied.count() == len(attempts)
    page = staff.get(base).content.decode()
    assert "Verify now" not in page
    assert "Delete domain" not in page
    assert "Diagnose" in page  # reads only: staff may


def test_an_outsider_gets_404_on_every_page_of_another_organizations_domain(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    outsider = session_client(trio.outsider)
    base = f"/overview/domains/{domain.pk}"
    for url in (base, f"{base}/card", f"{base}/delete"):
        assert outsider.get(url).status_code == 404, url
    for url in (f"{base}/verify", f"{base}/warmup", f"{base}/diagnose", f"{base}/delete"):
        assert outsider.post(url, {"total_days": "3", "confirm": domain.name}).status_code == 404
    assert SendingDomain.objects.filter(pk=domain.pk).exists()


def test_signed_out_visitors_are_sent_to_sign_in(domain: SendingDomain) -> None:
    response = Client().get(f"/overview/domains/{domain.pk}")

    assert response.status_code == 302
    assert response.url.startswith("/login/?next=")


def test_the_card_fragment_refreshes_while_pending_and_stops_when_verified(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    owner = session_client(trio.owner)
    pending = owner.get(f"/overview/domains/{domain.pk}/card").content.decode()
    assert pending.lstrip().startswith("<section")
    assert "data-refresh-url" in pending
    assert "0 of 3 records verified" in pending

    domain.records.filter(required=True).update(status="verified", hint="", fix="")
    SendingDomain.objects.filter(pk=domain.pk).update(status="verified")
    verified = owner.get(f"/overview/domains/{domain.pk}/card").content.decode()
    assert "data-refresh-url" not in verified
    assert "3 of 3 records verified" in verified


def test_warmup_starts_from_the_page_and_shows_todays_cap(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    owner = session_client(trio.owner)
    response = owner.post(f"/overview/domains/{domain.pk}/warmup", {"total_days": "10"})
    assert response.status_code == 302

    page = owner.get(f"/overview/domains/{domain.pk}").content.decode()
    assert "day 1 of 10" in page
    assert "<strong>50</strong> recipients" in page
    assert AuditEvent.objects.filter(action="domain.warmup_started").exists()


def test_a_warmup_length_out_of_range_is_shown_next_to_the_field(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    response = session_client(trio.owner).post(
        f"/overview/domains/{domain.pk}/warmup", {"total_days": "99"}
    )

    assert response.status_code == 400
    assert response.context["warmup_form"].errors["total_days"]
    domain.refresh_from_db()
    assert domain.warmup_started_at is None


def test_the_tenant_is_bound_and_unbound(trio: OrgTrio, domain: SendingDomain) -> None:
    tenant = Tenant.objects.create(organization=trio.organization, name="Shop one")
    owner = session_client(trio.owner)

    owner.post(f"/overview/domains/{domain.pk}/tenant", {"tenant": tenant.pk})
    domain.refresh_from_db()
    assert domain.tenant == tenant

    owner.post(f"/overview/domains/{domain.pk}/tenant", {"tenant": ""})
    domain.refresh_from_db()
    assert domain.tenant is None


def test_another_organizations_tenant_cannot_be_bound(trio: OrgTrio, domain: SendingDomain) -> None:
    foreign = Tenant.objects.create(organization=trio.other_organization, name="Theirs")

    response = session_client(trio.owner).post(
        f"/overview/domains/{domain.pk}/tenant", {"tenant": foreign.pk}
    )

    assert response.status_code == 400
    domain.refresh_from_db()
    assert domain.tenant is None


def test_a_test_email_needs_a_verified_domain_and_is_sent_once_verified(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    owner = session_client(trio.owner)
    refused = owner.post(f"/overview/domains/{domain.pk}/test-email", {"to": "me@example.com"})
    assert refused.status_code == 400
    assert refused.context["test_email_form"].non_field_errors()
    assert not mail.outbox

    SendingDomain.objects.filter(pk=domain.pk).update(status="verified")
    sender_cache_forget(domain)  # the refusal above was cached; the service would forget it
    sent = owner.post(f"/overview/domains/{domain.pk}/test-email", {"to": "me@example.com"})
    assert sent.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["me@example.com"]
    assert Message.objects.filter(domain=domain, kind="test").count() == 1
    page = owner.get(f"/overview/domains/{domain.pk}").content.decode()
    assert "Recent messages" in page
    assert "me@example.com" in page


def test_a_bad_test_address_is_shown_next_to_the_field(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    SendingDomain.objects.filter(pk=domain.pk).update(status="verified")

    response = session_client(trio.owner).post(
        f"/overview/domains/{domain.pk}/test-email", {"to": "not-an-address"}
    )

    assert response.status_code == 400
    assert response.context["test_email_form"].errors["to"]
    assert not mail.outbox


def test_delete_asks_for_the_name_and_then_removes_the_domain(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    owner = session_client(trio.owner)
    url = f"/overview/domains/{domain.pk}/delete"
    assert "Type the domain" in owner.get(url).content.decode()

    wrong = owner.post(url, {"confirm": "mail.other.test"})
    assert wrong.status_code == 400
    assert wrong.context["form"].errors["confirm"]
    assert SendingDomain.objects.filter(pk=domain.pk).exists()

    done = owner.post(url, {"confirm": "MAIL.acme.test"})
    assert done.url == "/overview/domains"
    assert not SendingDomain.objects.filter(pk=domain.pk).exists()
    assert AuditEvent.objects.filter(action="domain.removed").exists()


# --- found in review -----------------------------------------------------------------------


def test_a_signed_out_card_refresh_gets_401_not_the_sign_in_page(domain: SendingDomain) -> None:
    url = f"/overview/domains/{domain.pk}/card"

    assert Client().get(url, HTTP_X_REQUESTED_WITH="fetch").status_code == 401
    assert Client().get(url).status_code == 302


def test_a_second_delete_of_the_same_domain_announces_nothing(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    stale = SendingDomain.objects.get(pk=domain.pk)  # as a second tab loaded it

    assert sending_domain_delete(domain=domain) is True
    assert sending_domain_delete(domain=stale) is False

    assert AuditEvent.objects.filter(action="domain.removed").count() == 1
    assert WebhookEvent.objects.filter(type="domain.removed").count() == 1


def test_delete_accepts_either_spelling_of_an_international_name(trio: OrgTrio) -> None:
    domain = sending_domain_create(organization=trio.organization, name="mail.bücher.test")

    response = session_client(trio.owner).post(
        f"/overview/domains/{domain.pk}/delete", {"confirm": "mail.xn--bcher-kva.test"}
    )

    assert response.status_code == 302
    assert not SendingDomain.objects.filter(pk=domain.pk).exists()


def test_a_warmup_past_day_57_sends_under_the_ceiling_not_an_overflow(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    SendingDomain.objects.filter(pk=domain.pk).update(
        status="verified",
        warmup_started_at=timezone.now() - timedelta(days=59),
        warmup_total_days=60,
    )
    sender_cache_forget(domain)
    domain.refresh_from_db()
    assert warmup_cap(domain).cap == WARMUP_CAP_CEILING

    owner = session_client(trio.owner)
    sent = owner.post(f"/overview/domains/{domain.pk}/test-email", {"to": "me@example.com"})

    assert sent.status_code == 302
    assert len(mail.outbox) == 1
    assert f"<strong>{WARMUP_CAP_CEILING}</strong>" in owner.get(sent.url).content.decode()


def test_a_warm_domain_shows_no_cap_and_no_counter_that_is_not_kept(
    trio: OrgTrio, domain: SendingDomain
) -> None:
    SendingDomain.objects.filter(pk=domain.pk).update(
        warmup_started_at=timezone.now() - timedelta(days=20), warmup_total_days=14
    )

    page = session_client(trio.owner).get(f"/overview/domains/{domain.pk}").content.decode()

    assert "no daily cap" in page
    assert "data-sent-today" not in page


def test_diagnose_shows_each_record_and_spends_the_organizations_budget(
    trio: OrgTrio, domain: SendingDomain, settings, dns
) -> None:
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | {"diagnose": "1/min"}
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": rates}
    staff = session_client(trio.staff)  # reads only: staff may
    url = f"/overview/domains/{domain.pk}/diagnose"

    first = staff.post(url)
    second = staff.post(url, follow=True)

    assert first.status_code == 200
    assert first.context["diagnosis"].summary.total == domain.records.count()
    assert 'id="diagnosis"' in first.content.decode()
    assert "try again in" in second.content.decode()
    assert second.context.get("diagnosis") is None
