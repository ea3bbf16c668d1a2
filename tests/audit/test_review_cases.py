"""Cases found in review of the audit log."""

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Membership, Organization, Tenant, User
from accounts.services import tenant_create
from audit.db import install_append_only_triggers
from audit.models import AuditEvent
from audit.services import audit_prune, close_prune_gate, open_prune_gate, record, verify_chain
from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db


def test_values_that_databases_rewrite_keep_the_chain_whole(trio: OrgTrio) -> None:
    odd = {
        "floats": [0.1, 1e16, 1e20, -0.0, 3.0, float("nan"), float("inf")],
        "big": 2**70,
        "text": "nul\x00 and a lone \udc80 surrogate, ünïcödé",
        "nested": {"b": 1, "a": [True, None]},
    }
    record(
        action="test.odd", organization=trio.organization, metadata=odd, changes={"x": [0.5, 1e16]}
    )

    stored = AuditEvent.objects.get(action="test.odd")
    assert verify_chain([trio.organization.pk]) == []
    assert stored.metadata["floats"][0] == "0.1"
    assert "\x00" not in stored.metadata["text"]


def test_a_malformed_target_is_refused_before_it_is_written(trio: OrgTrio) -> None:
    with pytest.raises(ValueError, match="type and an id"):
        record(action="test.x", organization=trio.organization, targets=[{"name": "no id"}])


def test_pruning_many_chains(tmp_path: Path) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        for n in range(1100):
            record(action="test.old", organization=f"org_bulk{n}")

    result = audit_prune(cutoff=timezone.now() - timedelta(days=30), archive_dir=tmp_path)

    assert result.pruned == 1100
    assert verify_chain() == []


def _delete_behind_the_log(event: AuditEvent) -> None:
    with connection.cursor() as cursor:
        open_prune_gate(cursor)
        cursor.execute("DELETE FROM audit_audittarget WHERE event_id = %s", [event.sequence])
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = %s", [event.sequence])
        close_prune_gate(cursor)


def test_removing_the_oldest_events_without_a_prune_record_is_found(trio: OrgTrio) -> None:
    first = AuditEvent.objects.filter(organization=trio.organization).order_by("position").first()
    record(action="test.more", organization=trio.organization)

    _delete_behind_the_log(first)

    [broken] = verify_chain([trio.organization.pk])
    assert "no prune record" in broken.reason


def test_removing_the_newest_event_is_found(trio: OrgTrio) -> None:
    record(action="test.a", organization=trio.organization)
    newest = record(action="test.b", organization=trio.organization)

    _delete_behind_the_log(newest)

    [broken] = verify_chain([trio.organization.pk])
    assert "newer events are missing" in broken.reason


def test_positions_continue_after_a_chain_is_pruned_entirely(tmp_path: Path) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        record(action="test.old", organization="org_gone")
        record(action="test.old", organization="org_gone")
    audit_prune(cutoff=timezone.now() - timedelta(days=30), archive_dir=tmp_path)

    after = record(action="test.new", organization="org_gone")

    assert after.position == 3
    assert verify_chain(["org_gone"]) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds tables to alter them")
def test_triggers_dropped_by_a_table_rebuild_come_back_after_migrate(trio: OrgTrio) -> None:
    event = record(action="test.x", organization=trio.organization)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER audit_auditevent_no_update")

    install_append_only_triggers(connection)  # what post_migrate runs

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")


def test_post_migrate_rearms_the_triggers() -> None:
    from django.db.models.signals import post_migrate

    assert any("audit-triggers" in str(receiver[0]) for receiver in post_migrate.receivers)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root@example.test", "pw"))
    return client


def test_moving_an_object_to_another_organization_is_seen_by_both(
    trio: OrgTrio, admin_client
) -> None:
    tenant = tenant_create(organization=trio.organization, name="Retail")

    admin_client.post(
        f"/admin/accounts/tenant/{quote(tenant.pk)}/change/",
        {"organization": trio.other_organization.pk, "name": "Retail", "external_id": ""},
    )

    left = AuditEvent.objects.get(action="admin.tenant.moved_out")
    arrived = AuditEvent.objects.get(action="admin.tenant.changed")
    assert left.organization_id == trio.organization.pk
    assert arrived.organization_id == trio.other_organization.pk
    assert trio.organization.pk not in str(arrived.changes)
    assert trio.other_organization.pk not in str(left.changes)


def test_an_inline_role_change_is_recorded_with_its_values(trio: OrgTrio, admin_client) -> None:
    org = trio.organization
    memberships = list(Membership.objects.filter(organization=org).order_by("pk"))
    data = {
        "name": org.name,
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, m in enumerate(memberships):
        data |= {
            f"memberships-{i}-id": str(m.pk),
            f"memberships-{i}-organization": org.pk,
            f"memberships-{i}-user": str(m.user_id),
            f"memberships-{i}-role": "owner" if m.user_id == trio.staff.pk else m.role,
        }

    response = admin_client.post(f"/admin/accounts/organization/{quote(org.pk)}/change/", data)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.membership.changed")
    assert event.changes == {"role": ["staff", "owner"]}
    assert event.organization_id == org.pk


def test_a_bulk_admin_action_is_recorded(trio: OrgTrio, admin_client) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=5, period="minutes")
    task = PeriodicTask.objects.create(name="t", task="audit.prune", interval=every)

    admin_client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [str(task.pk)]},
    )

    event = AuditEvent.objects.get(action="admin.periodic_task.action")
    assert event.metadata == {"action": "disable_tasks", "selected": [str(task.pk)]}


def test_csv_export_honours_accept_text_csv(v1: APIClient, trio: OrgTrio) -> None:
    response = v1.get("/api/v1/audit-events/export", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"sequence,id,")


def test_verify_command_output_on_a_whole_log(trio: OrgTrio) -> None:
    out = StringIO()
    call_command("verify_audit_chain", "--organization", trio.organization.pk, stdout=out)
    assert "whole" in out.getvalue()
    assert Organization.objects.count() and Tenant.objects.count() == 0
