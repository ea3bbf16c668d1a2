"""Recording, the hash chain, append-only enforcement, tamper detection and pruning."""

import gzip
import itertools
import json
import threading
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Organization
from audit.context import Actor
from audit.models import AuditEvent, AuditTarget
from audit.services import Entry, audit_prune, record, record_many, target, verify_chain
from tests.conftest import OrgTrio

pytestmark = pytest.mark.django_db


def events_of(org: Organization) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(organization=org).order_by("position"))


def test_an_event_commits_or_rolls_back_with_the_change(trio: OrgTrio) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="tenant.created", organization=trio.organization)
        raise RuntimeError("the change failed")

    assert AuditEvent.objects.count() == before


def test_an_event_joins_the_callers_transaction_in_four_statements(trio: OrgTrio) -> None:
    record(action="tenant.created", organization=trio.organization)  # the chain's head exists
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        record(
            action="tenant.updated", organization=trio.organization, targets=[target(trio.owner)]
        )

    statements = [q["sql"].split()[0] for q in queries]
    assert statements == ["SELECT", "INSERT", "UPDATE", "INSERT"]  # head locked, event, head


def test_a_batch_locks_each_chain_once_and_keeps_every_chain_whole(trio: OrgTrio) -> None:
    record(action="tenant.created", organization=trio.organization)
    record(action="tenant.created", organization=trio.other_organization)
    mine, theirs = trio.organization, trio.other_organization
    entries = [
        Entry("test.a", mine, [target(trio.owner)]),
        Entry("test.b", theirs),
        Entry("test.c", mine, changes={"status": ["pending", "verified"]}),
        Entry("test.d", theirs, [target(trio.owner), target(trio.staff)]),
        Entry("test.e", mine),
    ]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events = record_many(entries)

    statements = [q["sql"].split()[0] for q in queries]
    # Both heads made if missing, then locked in one statement: events, heads, targets.
    assert statements == ["INSERT", "SELECT", "INSERT", "UPDATE", "UPDATE", "INSERT"]
    assert [e.action for e in events] == ["test.a", "test.b", "test.c", "test.d", "test.e"]
    assert [e.action for e in events_of(mine)][-4:] == [
        "tenant.created",
        "test.a",
        "test.c",
        "test.e",
    ]
    for chain in (events_of(mine), events_of(theirs)):
        assert [e.position for e in chain] == list(range(1, len(chain) + 1))
    assert AuditTarget.objects.filter(event__in=events).count() == 3
    assert verify_chain() == []


def test_a_batch_starts_a_chain_that_has_no_head_yet(trio: OrgTrio) -> None:
    events = record_many(
        [Entry("test.first"), Entry("test.second"), Entry("test.x", trio.organization)]
    )

    assert [e.position for e in events[:2]] == [1, 2]
    assert events[1].prev_hash == events[0].hash
    assert verify_chain() == []


def test_each_event_is_chained_to_the_previous_one_of_its_organization(trio: OrgTrio) -> None:
    for n in range(3):
        record(action=f"test.step{n}", organization=trio.organization)
    record(action="test.elsewhere", organization=trio.other_organization)

    chain = events_of(trio.organization)

    assert [e.position for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == ""
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(chain))
    assert verify_chain() == []


def test_the_event_has_the_contract_fields(trio: OrgTrio) -> None:
    event = record(
        action="tenant.updated",
        organization=trio.organization,
        targets=[{"type": "tenant", "id": "tnt_1", "name": "Retail"}],
        changes={"name": ["Retail", "Retail EU"]},
        metadata={"why": "test"},
        actor=Actor("user", "7", "owner@acme.test"),
    )

    assert event.id.startswith("aud_")
    assert (event.actor_type, event.actor_id, event.actor_name) == ("user", "7", "owner@acme.test")
    assert event.changes == {"name": ["Retail", "Retail EU"]}
    assert event.outcome == "success"


def test_update_and_delete_are_refused_by_the_database(trio: OrgTrio) -> None:
    event = record(action="test.x", organization=trio.organization)

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.y")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "test.x"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_refused_on_postgresql(trio: OrgTrio) -> None:
    record(action="test.x", organization=trio.organization)

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent CASCADE")

    assert AuditEvent.objects.exists()


def _tamper(event: AuditEvent, **values: object) -> None:
    """Changes a row behind the trigger's back, as someone with database access could."""
    table = AuditEvent._meta.db_table
    assignments = ", ".join(f"{name} = %s" for name in values)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            cursor.execute(f"DROP TRIGGER {table}_no_update")
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE sequence = %s",  # noqa: S608
            [*values.values(), event.sequence],
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def test_a_row_altered_behind_the_triggers_back_is_found(trio: OrgTrio) -> None:
    record(action="test.a", organization=trio.organization)
    victim = record(action="test.b", organization=trio.organization, metadata={"amount": 1})
    record(action="test.c", organization=trio.organization)
    _tamper(victim, metadata=json.dumps({"amount": 1000}))
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("verify_audit_chain", stderr=err)

    assert f"at event {victim.id}" in err.getvalue()
    assert "does not match its hash" in err.getvalue()


def test_a_rewritten_hash_still_breaks_the_next_link(trio: OrgTrio) -> None:
    record(action="test.a", organization=trio.organization)
    victim = record(action="test.b", organization=trio.organization)
    following = record(action="test.c", organization=trio.organization)
    victim.action = "test.forged"
    from audit.services import event_digest

    _tamper(victim, action="test.forged", hash=event_digest(victim))

    [broken] = verify_chain([trio.organization.pk])
    assert broken.event_id == following.id
    assert "prev_hash" in broken.reason


def test_verify_says_the_chain_is_whole(trio: OrgTrio) -> None:
    out = StringIO()
    call_command("verify_audit_chain", stdout=out)
    assert "whole" in out.getvalue()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(trio: OrgTrio) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with transaction.atomic():
                    record(action=f"test.w{n}.{i}", organization=trio.organization)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    chain = events_of(trio.organization)
    assert [e.position for e in chain] == list(range(1, len(chain) + 1))
    assert verify_chain([trio.organization.pk]) == []


def test_the_same_position_twice_is_refused(trio: OrgTrio) -> None:
    first = record(action="test.a", organization=trio.organization)
    duplicate = AuditEvent(
        organization=trio.organization,
        position=first.position,
        occurred_at=timezone.now(),
        action="test.fork",
        actor_type="system",
        hash="x",
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save(force_insert=True)


def test_pruning_archives_deletes_and_is_itself_audited(trio: OrgTrio, tmp_path: Path) -> None:
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=40), tick=False):
        old = [record(action=f"test.old{i}", organization=trio.organization) for i in range(3)]
    recent = record(action="test.recent", organization=trio.organization)

    result = audit_prune(cutoff=start - timedelta(days=30), archive_dir=tmp_path)

    with gzip.open(result.archive, "rt") as archive:
        archived = [json.loads(line) for line in archive]
    # the chain's whole prefix up to its last old event goes, older setup events included
    assert {row["id"] for row in archived} >= {e.id for e in old}
    assert not AuditEvent.objects.filter(id__in=[e.id for e in old]).exists()
    assert AuditEvent.objects.filter(id=recent.id).exists()
    pruned = AuditEvent.objects.get(action="audit.pruned")
    assert pruned.metadata["events"] == result.pruned
    assert pruned.metadata["last_pruned"][trio.organization.pk]["hash"] == old[-1].hash
    assert verify_chain() == []  # each chain now starts at its oldest remaining event


def test_the_prune_command_respects_the_retention_setting(settings, tmp_path: Path) -> None:
    settings.AUDIT_RETENTION_DAYS = 0
    out = StringIO()
    call_command("prune_audit_events", stdout=out)
    assert "unlimited" in out.getvalue()

    settings.AUDIT_ARCHIVE_DIR = str(tmp_path)
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        record(action="test.old")
    call_command("prune_audit_events", "--days", "5", stdout=out)
    assert "Archived and pruned 1" in out.getvalue()
