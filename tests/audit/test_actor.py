"""Who acted and from where, for each way in: session, API key, Celery, cron, admin."""

import pytest
from celery import shared_task
from django.contrib.admin.utils import quote
from rest_framework.test import APIClient

from accounts.models import Tenant
from accounts.services import tenant_create
from audit.context import Actor, acting_as
from audit.models import AuditEvent
from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("sequence")


def test_a_session_user_with_ip_user_agent_and_request_id(
    trio: OrgTrio, owner_session: APIClient
) -> None:
    response = owner_session.post(
        "/api/internal/tenants",
        {"name": "Retail"},
        format="json",
        HTTP_USER_AGENT="dashboard-test/1.0",
        HTTP_X_REQUEST_ID="req-123",
        REMOTE_ADDR="203.0.113.9",
    )

    event = last("tenant.created")
    assert (event.actor_type, event.actor_id, event.actor_name) == (
        "user",
        str(trio.owner.pk),
        trio.owner.email,
    )
    assert event.context == {
        "ip": "203.0.113.9",
        "user_agent": "dashboard-test/1.0",
        "request_id": "req-123",
        "surface": "dashboard_api",
    }
    assert response["X-Request-ID"] == "req-123"


def test_an_api_key(trio: OrgTrio, v1: APIClient) -> None:
    v1.post("/api/v1/tenants", {"name": "Retail"}, format="json")

    event = last("tenant.created")
    assert event.actor_type == "api_key"
    assert event.actor_id.startswith("key_")
    assert event.context["surface"] == "api"
    assert len(event.context["request_id"]) == 32  # minted when the caller sent none


def test_the_client_ip_comes_from_the_proxy_only_when_trusted(
    settings, owner_session: APIClient
) -> None:
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.1, 192.0.2.7", "REMOTE_ADDR": "10.0.0.2"}

    settings.TRUSTED_PROXY_HOPS = 0
    owner_session.post("/api/internal/tenants", {"name": "A"}, format="json", **spoofed)
    untrusted = last("tenant.created").context["ip"]
    settings.TRUSTED_PROXY_HOPS = 1
    owner_session.post("/api/internal/tenants", {"name": "B"}, format="json", **spoofed)
    trusted = last("tenant.created").context["ip"]

    assert (untrusted, trusted) == ("10.0.0.2", "192.0.2.7")


@shared_task
def _create_tenant(organization_id: str) -> None:
    from accounts.models import Organization

    tenant_create(organization=Organization.objects.get(pk=organization_id), name="From a task")


def test_a_celery_task_acts_as_system(trio: OrgTrio) -> None:
    _create_tenant.delay(trio.organization.pk)

    event = last("tenant.created")
    assert event.actor_type == "system"
    assert event.context["task"].endswith("_create_tenant")
    assert event.context["task_id"]


def test_cron_and_commands_say_so(trio: OrgTrio) -> None:
    with acting_as(Actor.cron("domain-verify-poll"), run="r-1"):
        tenant_create(organization=trio.organization, name="Nightly")

    event = last("tenant.created")
    assert (event.actor_type, event.actor_name, event.context) == (
        "cron",
        "domain-verify-poll",
        {"run": "r-1"},
    )


def test_nothing_in_context_is_the_system(trio: OrgTrio) -> None:
    tenant_create(organization=trio.organization, name="Shell")

    assert last("tenant.created").actor_type == "system"


def test_the_admins_staff_user_with_field_changes(trio: OrgTrio, client) -> None:
    from accounts.models import User

    staff = User.objects.create_superuser("root@example.test", "pw")
    client.force_login(staff)
    tenant = tenant_create(organization=trio.organization, name="Retail")

    client.post(
        f"/admin/accounts/tenant/{quote(tenant.pk)}/change/",
        {"organization": trio.organization.pk, "name": "Retail EU", "external_id": ""},
    )

    event = last("admin.tenant.changed")
    assert (event.actor_type, event.actor_name) == ("user", "root@example.test")
    assert event.context["surface"] == "admin"
    assert event.changes == {"name": ["Retail", "Retail EU"]}
    assert event.organization_id == trio.organization.pk
    assert Tenant.objects.get(pk=tenant.pk).name == "Retail EU"


def test_sign_ins_are_recorded(trio: OrgTrio, client) -> None:
    client.post("/login/", {"username": trio.owner.email, "password": "wrong"})
    client.post(
        "/login/", {"username": trio.owner.email, "password": "correct horse battery staple"}
    )

    failed = last("user.login_failed")
    assert (failed.actor_type, failed.outcome) == ("anonymous", "failure")
    assert failed.metadata == {"attempted": trio.owner.email}
    assert last("user.logged_in").actor_name == trio.owner.email


def test_a_denied_owner_action_is_recorded(trio: OrgTrio, staff_session: APIClient) -> None:
    staff_session.post("/api/internal/tenants", {"name": "X"}, format="json")

    event = last("authorization.denied")
    assert (event.outcome, event.actor_name, event.organization_id) == (
        "denied",
        trio.staff.email,
        trio.organization.pk,
    )
    assert event.metadata["permission"] == "organization.manage"
    assert event.metadata["path"] == "/api/internal/tenants"


def test_every_admin_page_is_audited_third_party_ones_too(client) -> None:
    from django.contrib import admin

    from accounts.models import User
    from audit.admin import AuditedModelAdmin

    assert all(isinstance(m, AuditedModelAdmin) for m in admin.site._registry.values())
    client.force_login(User.objects.create_superuser("root@example.test", "pw"))

    response = client.post("/admin/auth/group/add/", {"name": "support"})

    assert response.status_code == 302
    event = last("admin.group.created")
    assert event.actor_name == "root@example.test"


def test_sign_out_is_recorded(trio: OrgTrio, client) -> None:
    client.force_login(trio.owner)

    client.post("/logout/")

    assert last("user.logged_out").actor_name == trio.owner.email
