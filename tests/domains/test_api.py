"""Every sending-domain endpoint for the owner, a staff member and an outsider, the
dashboard's contract, and every error code."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Tenant
from config.errors import NotFoundError, ServiceError
from domains.models import SendingDomain
from domains.selectors import domain_for_sender
from domains.sending import check_warmup_limit
from domains.services import sending_domain_create
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer
from tests.domains.conftest import verified
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def domain(trio: OrgTrio, dns: KnotServer, label: str) -> SendingDomain:
    return sending_domain_create(organization=trio.organization, name=f"mail.{label}.example.test")


READS = [("get", "/api/v1/domains/{id}"), ("post", "/api/v1/domains/{id}/diagnose")]
WRITES = [
    ("post", "/api/v1/domains/{id}/verify", None),
    ("post", "/api/v1/domains/{id}/warmup", {"total_days": 7}),
    ("patch", "/api/v1/domains/{id}/region", {"region": "eu-west-1"}),
    ("patch", "/api/v1/domains/{id}/tenant", {"tenant_id": None}),
    ("delete", "/api/v1/domains/{id}", None),
]


def test_staff_reads_and_diagnoses_but_changes_nothing(
    domain: SendingDomain, staff_session: APIClient
) -> None:
    for method, path in READS:
        url = path.format(id=domain.pk).replace("/api/v1/", "/api/internal/")
        assert getattr(staff_session, method)(url).status_code == 200, url
    for method, path, body in WRITES:
        url = path.format(id=domain.pk).replace("/api/v1/", "/api/internal/")
        response = getattr(staff_session, method)(url, body, format="json")
        assert (response.status_code, response.json()["code"]) == (403, "PERMISSION_DENIED"), url
    assert SendingDomain.objects.filter(pk=domain.pk).exists()


@pytest.mark.parametrize(("method", "path", "body"), [(m, p, None) for m, p in READS] + WRITES)
def test_another_organization_gets_404_everywhere(
    domain: SendingDomain, outsider_v1: APIClient, method: str, path: str, body: dict | None
) -> None:
    response = getattr(outsider_v1, method)(path.format(id=domain.pk), body, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "NOT_FOUND")
    assert SendingDomain.objects.get(pk=domain.pk).region == "us-east-1"


def test_another_organizations_domains_are_not_listed(
    domain: SendingDomain, outsider_v1: APIClient
) -> None:
    assert outsider_v1.get("/api/v1/domains").json()["data"] == []


def test_list_filters(v1: APIClient, trio: OrgTrio, dns: KnotServer, label: str) -> None:
    tenant = Tenant.objects.create(organization=trio.organization, name="T")
    a = sending_domain_create(
        organization=trio.organization, name=f"a.{label}.example.test", tenant=tenant
    )
    b = verified(
        sending_domain_create(organization=trio.organization, name=f"b.{label}.example.test")
    )

    assert [d["id"] for d in v1.get("/api/v1/domains", {"tenant": tenant.pk}).json()["data"]] == [
        a.pk
    ]
    assert [d["id"] for d in v1.get("/api/v1/domains", {"status": "verified"}).json()["data"]] == [
        b.pk
    ]
    assert v1.get("/api/v1/domains", {"status": "nope"}).status_code == 400


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("not a domain", "INVALID_DOMAIN"),
        ("10.0.0.1", "IP_LITERAL"),
        ("*.acme.com", "WILDCARD"),
        ("co.uk", "PUBLIC_SUFFIX"),
        ("a" * 64 + ".com", "TOO_LONG"),
    ],
)
def test_bad_names_are_refused_with_their_code(v1: APIClient, name: str, code: str) -> None:
    response = v1.post("/api/v1/domains", {"name": name}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert "name" in response.json()["errors"]


def test_the_same_name_twice_in_one_organization(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.post("/api/v1/domains", {"name": domain.name.upper()}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "DOMAIN_ALREADY_ADDED")


def test_two_organizations_may_claim_a_name_until_one_verifies_it(
    domain: SendingDomain, outsider_v1: APIClient
) -> None:
    claim = outsider_v1.post("/api/v1/domains", {"name": domain.name}, format="json")
    assert claim.status_code == 201  # a pending claim blocks nobody
    SendingDomain.objects.filter(pk=claim.json()["data"]["id"]).delete()
    verified(domain)

    response = outsider_v1.post("/api/v1/domains", {"name": domain.name}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "DOMAIN_TAKEN")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"region": "mars-1"}, "REGION_NOT_ALLOWED"),
        ({"region": "eu-west-1", "fallback_region": "eu-west-1"}, "REGIONS_MUST_DIFFER"),
        ({"region": "eu-west-1", "fallback_region": "moon-2"}, "REGION_NOT_ALLOWED"),
        ({}, "VALIDATION_ERROR"),
    ],
)
def test_region_rules(v1: APIClient, domain: SendingDomain, body: dict, code: str) -> None:
    response = v1.patch(f"/api/v1/domains/{domain.pk}/region", body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)


def test_region_change_for_a_local_domain(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.patch(
        f"/api/v1/domains/{domain.pk}/region",
        {"region": "eu-west-1", "fallback_region": "eu-central-1"},
        format="json",
    )

    assert response.json()["data"]["fallback_region"] == "eu-central-1"
    assert WebhookEvent.objects.filter(type="domain.region_changed").exists()


def test_unknown_region_on_add(v1: APIClient, label: str) -> None:
    response = v1.post(
        "/api/v1/domains", {"name": f"m.{label}.example.test", "region": "x"}, format="json"
    )

    assert response.json()["code"] == "REGION_NOT_ALLOWED"


def test_warmup_caps(v1: APIClient, trio: OrgTrio, domain: SendingDomain) -> None:
    verified(domain)
    start = timezone.now().replace(hour=12)
    with time_machine.travel(start, tick=False):
        response = v1.post(f"/api/v1/domains/{domain.pk}/warmup", {"total_days": 14}, format="json")
    address = f"news@{domain.name}"

    caps = {}
    for day in (0, 1, 3, 13, 14, 30):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            caps[day] = check_warmup_limit(
                organization_id=trio.organization.pk, from_address=address
            ).cap

    assert response.json()["data"]["warmup"]["cap_today"] == 50
    assert caps == {0: 50, 1: 100, 3: 400, 13: 50 * 2**13, 14: None, 30: None}
    assert WebhookEvent.objects.filter(type="domain.warmup_started").exists()


def test_warmup_input_rules(v1: APIClient, domain: SendingDomain) -> None:
    response = v1.post(f"/api/v1/domains/{domain.pk}/warmup", {"total_days": 0}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "VALIDATION_ERROR")


def test_no_cap_for_an_address_we_cannot_send_from(trio: OrgTrio, domain: SendingDomain) -> None:
    with pytest.raises(NotFoundError) as unknown:
        check_warmup_limit(organization_id=trio.organization.pk, from_address="a@unknown.test")
    with pytest.raises(ServiceError) as pending:
        check_warmup_limit(organization_id=trio.organization.pk, from_address=f"a@{domain.name}")
    assert unknown.value.code == "DOMAIN_NOT_FOUND"
    assert (pending.value.code, pending.value.status) == ("DOMAIN_NOT_VERIFIED", 403)


def test_tenant_rebind_is_seen_by_the_next_send(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain
) -> None:
    verified(domain)
    first, second = (Tenant.objects.create(organization=trio.organization, name=n) for n in "AB")
    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": first.pk}, format="json")
    address = f"news@{domain.name}"
    assert (
        domain_for_sender(organization_id=trio.organization.pk, from_address=address).tenant_id
        == first.pk
    )

    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": second.pk}, format="json")
    rebound = domain_for_sender(organization_id=trio.organization.pk, from_address=address)
    v1.patch(f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": None}, format="json")
    unbound = domain_for_sender(organization_id=trio.organization.pk, from_address=address)

    assert rebound.tenant_id == second.pk
    assert unbound.tenant_id is None


def test_a_foreign_tenant_cannot_be_bound(
    v1: APIClient, trio: OrgTrio, domain: SendingDomain
) -> None:
    foreign = Tenant.objects.create(organization=trio.other_organization, name="F")

    response = v1.patch(
        f"/api/v1/domains/{domain.pk}/tenant", {"tenant_id": foreign.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"tenant_id": ["No such tenant."]}


def test_the_dashboard_contract(
    owner_session: APIClient, trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    tenant = Tenant.objects.create(organization=trio.organization, name="T")
    created = owner_session.post(
        "/api/internal/domains",
        {"domain": f"mail.{label}.example.test", "tenantId": tenant.pk},
        format="json",
    )
    domain_id = created.json()["data"]["id"]

    listed = owner_session.get("/api/internal/domains")
    rechecked = owner_session.patch("/api/internal/domains", {"id": domain_id}, format="json")
    missing_id = owner_session.patch("/api/internal/domains", {}, format="json")
    deleted = owner_session.delete(f"/api/internal/domains?id={domain_id}")
    again = owner_session.delete(f"/api/internal/domains?id={domain_id}")

    assert created.status_code == 201
    assert created.json()["data"]["tenant_id"] == tenant.pk
    assert [d["id"] for d in listed.json()["data"]] == [domain_id]
    assert rechecked.json()["data"]["domain"]["status"] == "pending"
    assert missing_id.status_code == 400
    assert deleted.status_code == 200
    assert again.status_code == 404


def test_the_dashboard_contract_refuses_others_and_staff(
    domain: SendingDomain, outsider_session: APIClient, staff_session: APIClient
) -> None:
    assert (
        outsider_session.patch(
            "/api/internal/domains", {"id": domain.pk}, format="json"
        ).status_code
        == 404
    )
    assert outsider_session.delete(f"/api/internal/domains?id={domain.pk}").status_code == 404
    assert (
        staff_session.patch("/api/internal/domains", {"id": domain.pk}, format="json").status_code
        == 403
    )
    assert staff_session.delete(f"/api/internal/domains?id={domain.pk}").status_code == 403
    assert SendingDomain.objects.filter(pk=domain.pk).exists()


def test_diagnose_is_throttled_per_organization(
    settings, v1: APIClient, domain: SendingDomain
) -> None:
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "diagnose": "2/min"}
    settings.REST_FRAMEWORK = rest

    statuses = [v1.post(f"/api/v1/domains/{domain.pk}/diagnose").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_admin_lists_and_shows_domains(trio: OrgTrio, domain: SendingDomain, client) -> None:
    from accounts.models import User

    client.force_login(User.objects.create_superuser("root@example.test", "pw"))

    assert client.get("/admin/domains/sendingdomain/").status_code == 200
    page = client.get(f"/admin/domains/sendingdomain/{quote(domain.pk)}/change/")
    assert page.status_code == 200
    assert b"dk1._domainkey" in page.content
    assert b"PRIVATE KEY" not in page.content


def test_the_demo_domain_loads_once(settings) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    call_command("load_demo_domains", stdout=StringIO())
    call_command("load_demo_domains", stdout=StringIO())

    assert SendingDomain.objects.filter(name="mail.acme.example").count() == 1


def test_names_too_long_for_their_dkim_records(v1: APIClient) -> None:
    name = ".".join(["a" * 60] * 3) + ".example.test"  # 197 characters

    response = v1.post("/api/v1/domains", {"name": name}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "TOO_LONG")


@pytest.mark.parametrize(
    ("junk", "status"), [("%00", 400), ("dom_%00", 400), ("x" * 300, 404), ("dom_!!", 404)]
)
def test_junk_ids_on_the_dashboard_delete(owner_session: APIClient, junk: str, status: int) -> None:
    assert owner_session.delete(f"/api/internal/domains?id={junk}").status_code == status


def test_the_sender_lookup_reads_unicode_addresses(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    domain = verified(
        sending_domain_create(organization=trio.organization, name=f"bücher.{label}.example.test")
    )

    found = domain_for_sender(
        organization_id=trio.organization.pk, from_address=f"news@BÜCHER.{label}.example.test"
    )

    assert found.id == domain.pk


def test_deleting_in_the_admin_goes_through_the_service(
    trio: OrgTrio, domain: SendingDomain, client
) -> None:
    from accounts.models import User

    client.force_login(User.objects.create_superuser("root@example.test", "pw"))

    response = client.post(
        f"/admin/domains/sendingdomain/{quote(domain.pk)}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not SendingDomain.objects.filter(pk=domain.pk).exists()
    assert WebhookEvent.objects.filter(type="domain.removed").exists()
