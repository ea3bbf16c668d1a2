"""The verification engine: cohorts, the adaptive schedule, claims and leases, transient
backoff, warmup bookkeeping, the beat schedule, the cron endpoints and the operator command."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from domains.engine import backoff, check_domains, claim_due, next_check, poll_cycle
from domains.models import SendCount, SendingDomain
from domains.services import (
    send_counts_prune,
    sending_domain_create,
    sending_domains_complete_warmup,
)
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer, publish_records
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _domain(trio: OrgTrio, name: str, **fields: object) -> SendingDomain:
    domain = sending_domain_create(organization=trio.organization, name=name)
    if fields:
        SendingDomain.objects.filter(pk=domain.pk).update(**fields)
        domain.refresh_from_db()
    return domain


def test_cohort_boundaries(trio: OrgTrio, label: str) -> None:
    now = timezone.now()
    young = _domain(trio, f"a.{label}.example.test", created_at=now - timedelta(days=6, hours=23))
    old = _domain(trio, f"b.{label}.example.test", created_at=now - timedelta(days=7, minutes=1))
    verified = _domain(trio, f"c.{label}.example.test", status="verified")
    failed = _domain(trio, f"d.{label}.example.test", status="failed")
    not_due = _domain(trio, f"e.{label}.example.test", next_check_at=now + timedelta(minutes=5))
    SendingDomain.objects.exclude(pk=not_due.pk).update(next_check_at=now - timedelta(seconds=1))

    claimed = set(claim_due(now=now))

    assert claimed == {young.pk, verified.pk}
    assert old.pk not in claimed and failed.pk not in claimed


def test_a_verified_domain_is_claimed_again_24_hours_after_its_check(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    domain = _domain(trio, f"mail.{label}.example.test")
    publish_records(dns, domain)
    check_domains([domain.pk])
    domain.refresh_from_db()
    assert domain.status == "verified"
    checked = domain.last_checked_at

    with time_machine.travel(checked + timedelta(hours=23, minutes=59), tick=False):
        assert claim_due() == []
    with time_machine.travel(checked + timedelta(hours=24, seconds=1), tick=False):
        assert claim_due() == [domain.pk]


@pytest.mark.parametrize(
    ("age", "status", "wait"),
    [
        (timedelta(minutes=30), "pending", timedelta(minutes=1)),
        (timedelta(hours=2), "pending", timedelta(minutes=5)),
        (timedelta(days=2), "pending", timedelta(minutes=30)),
        (timedelta(days=8), "pending", None),
        (timedelta(days=30), "verified", timedelta(hours=24)),
        (timedelta(days=1), "failed", None),
    ],
)
def test_the_adaptive_schedule(age: timedelta, status: str, wait: timedelta | None) -> None:
    now = timezone.now()
    domain = SendingDomain(status=status, created_at=now - age)

    when = next_check(domain, now)

    assert when == (now + wait if wait else None)


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(20) == timedelta(hours=6)


def test_a_published_domain_verifies_without_a_click(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    domain = _domain(trio, f"mail.{label}.example.test")
    publish_records(dns, domain)

    report = poll_cycle()

    domain.refresh_from_db()
    assert domain.status == "verified"
    assert report.outcomes["verified"] == 1
    assert domain.next_check_at > timezone.now() + timedelta(hours=23)
    assert WebhookEvent.objects.filter(type="domain.verified").count() == 1
    assert poll_cycle().checked == 0  # not due again for a day


def test_transient_failures_back_off_and_recover(
    trio: OrgTrio, settings, dns: KnotServer, label: str
) -> None:
    domain = _domain(trio, f"mail.{label}.example.test")
    publish_records(dns, domain)
    good_dns = settings.DNS_NAMESERVERS
    settings.DNS_NAMESERVERS, settings.DNS_TIMEOUT = "127.0.0.1:9", 0.3

    waits = []
    for _ in range(3):
        started = timezone.now()
        check_domains([domain.pk])
        domain.refresh_from_db()
        waits.append(round((domain.next_check_at - started).total_seconds() / 60))
    assert domain.status == "pending"
    assert domain.consecutive_failures == 3
    assert waits == [5, 10, 20]

    settings.DNS_NAMESERVERS, settings.DNS_TIMEOUT = good_dns, 2.0
    check_domains([domain.pk])
    domain.refresh_from_db()
    assert (domain.status, domain.consecutive_failures) == ("verified", 0)


def test_a_worker_that_dies_mid_chunk_leaves_its_rows_for_another_after_the_lease(
    trio: OrgTrio, label: str
) -> None:
    domain = _domain(trio, f"mail.{label}.example.test")
    first = claim_due()  # ... and the worker dies here

    assert first == [domain.pk]
    assert claim_due() == []  # leased
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert claim_due() == [domain.pk]
        assert claim_due() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_pollers_never_check_a_domain_twice(trio: OrgTrio, dns: KnotServer, label: str) -> None:
    domains = [_domain(trio, f"m{i}.{label}.example.test") for i in range(12)]
    for domain in domains[::2]:
        publish_records(dns, domain)
    claims: list[list[str]] = []
    barrier = threading.Barrier(2)

    def poller() -> None:
        try:
            barrier.wait(timeout=10)
            ids = claim_due(limit=100)
            claims.append(ids)
            check_domains(ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    checked = [pk for ids in claims for pk in ids]
    assert sorted(checked) == sorted(d.pk for d in domains)  # each once, none twice
    assert WebhookEvent.objects.filter(type="domain.verified").count() == 6
    assert SendingDomain.objects.filter(status="verified").count() == 6


def test_warmup_completes_once(trio: OrgTrio, label: str) -> None:
    now = timezone.now()
    domain = _domain(
        trio,
        f"mail.{label}.example.test",
        warmup_started_at=now - timedelta(days=15),
        warmup_total_days=14,
    )
    _domain(trio, f"other.{label}.example.test", warmup_started_at=now - timedelta(days=3))

    assert sending_domains_complete_warmup() == 1
    assert sending_domains_complete_warmup() == 0
    domain.refresh_from_db()
    assert domain.warmup_completed_at is not None
    assert WebhookEvent.objects.filter(type="domain.warmup_completed").count() == 1


def test_the_daily_bookkeeping_forgets_send_counters_older_than_yesterday(
    trio: OrgTrio, label: str, client, settings
) -> None:
    settings.CRON_SECRET = "cron-secret-for-tests"
    domain = _domain(trio, f"mail.{label}.example.test")
    today = timezone.now().date()
    for age in (0, 1, 2, 30):
        SendCount.objects.create(domain=domain, day=today - timedelta(days=age), count=7)

    answer = client.post(
        "/api/cron/domain-warmup", HTTP_AUTHORIZATION="Bearer cron-secret-for-tests"
    )

    assert answer.status_code == 200
    assert answer.json()["data"]["pruned"] == 2
    kept = set(SendCount.objects.values_list("day", flat=True))
    assert kept == {today, today - timedelta(days=1)}
    assert send_counts_prune() == 0


def test_the_beat_schedule_is_installed_idempotently() -> None:
    from django_celery_beat.models import PeriodicTask

    from config.apps import install_beat_schedule
    from config.celery import BEAT_SCHEDULE

    install_beat_schedule()
    PeriodicTask.objects.filter(name="audit-prune").update(enabled=False)  # staff paused it
    install_beat_schedule()

    tasks = {t.name: t for t in PeriodicTask.objects.all()}
    assert set(BEAT_SCHEDULE) <= set(tasks)
    assert PeriodicTask.objects.count() == len(tasks)
    assert tasks["domains-poll"].task == "domains.poll"
    assert tasks["domains-poll"].crontab.minute == "*"
    assert tasks["audit-prune"].enabled is False


def test_the_cron_endpoint(settings, trio: OrgTrio, label: str) -> None:
    _domain(trio, f"mail.{label}.example.test")
    client = Client()
    url = "/api/cron/domain-verify-poll"

    settings.CRON_SECRET = ""
    off = client.post(url, HTTP_AUTHORIZATION="Bearer anything")
    settings.CRON_SECRET = "s3cret-cron-token"
    wrong = client.post(url, HTTP_AUTHORIZATION="Bearer nope")
    missing = client.post(url)
    ok = client.post(url, HTTP_AUTHORIZATION="Bearer s3cret-cron-token")
    unknown = client.post("/api/cron/nope", HTTP_AUTHORIZATION="Bearer s3cret-cron-token")
    get = client.get(url, HTTP_AUTHORIZATION="Bearer s3cret-cron-token")

    assert (off.status_code, off.json()["code"]) == (403, "CRON_DISABLED")
    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert ok.status_code == 200
    assert ok.json()["data"]["checked"] == 1
    assert unknown.status_code == 404
    assert get.status_code == 405


@pytest.mark.parametrize(
    "job", ["domain-warmup", "storefront-recheck", "webhook-sweep", "audit-prune"]
)
def test_every_schedule_has_a_cron_twin(settings, job: str) -> None:
    settings.CRON_SECRET = "t0ken"

    response = Client().post(f"/api/cron/{job}", HTTP_AUTHORIZATION="Bearer t0ken")

    assert response.status_code == 200
    assert response.json()["success"] is True


def test_the_operator_command(trio: OrgTrio, dns: KnotServer, label: str) -> None:
    ready = _domain(trio, f"ready.{label}.example.test")
    _domain(trio, f"waiting.{label}.example.test")
    publish_records(dns, ready)
    out = StringIO()

    call_command("verify_domains", "--pending", stdout=out)

    text = out.getvalue()
    assert f"ready.{label}.example.test" in text and "pending   verified" in text
    assert "Checked 2: pending 1, verified 1." in text


def test_the_ses_rate_limit_waits_for_the_next_second(settings, monkeypatch) -> None:
    from domains.providers import ses

    clock = {"now": 1000.0}
    slept: list[float] = []
    monkeypatch.setattr(ses.time, "time", lambda: clock["now"])
    monkeypatch.setattr(
        ses.time, "sleep", lambda s: (slept.append(s), clock.update(now=clock["now"] + s))
    )
    settings.SES_MAX_RPS = 2

    for _ in range(5):
        ses.ses_rate_limit()

    assert len(slept) == 2  # calls 3 and 5 waited for a new second


def check_at_flat_cost(assert_max, ceiling: int, small: list[str], large: list[str]):
    """Checks the small chunk in at most `ceiling` queries, then the large one in exactly
    as many; returns the large chunk's report."""
    with assert_max(ceiling) as few:
        check_domains(small)
    with assert_max(len(few.captured_queries)) as many:
        report = check_domains(large)
    assert len(many.captured_queries) == len(few.captured_queries)
    return report


def test_a_chunk_costs_the_same_few_queries_however_many_domains_stay_as_they_were(
    trio: OrgTrio, dns: KnotServer, label: str, django_assert_max_num_queries
) -> None:
    def chunk(n: int, prefix: str) -> list[str]:
        return [_domain(trio, f"{prefix}{i}.{label}.example.test").pk for i in range(n)]

    small, large = chunk(2, "s"), chunk(12, "l")
    check_domains(small)
    check_domains(large)  # first checks: every record row gets its findings
    SendingDomain.objects.update(next_check_at=timezone.now())

    report = check_at_flat_cost(django_assert_max_num_queries, 8, small, large)

    assert report.outcomes["unchanged"] == 12
    after = SendingDomain.objects.filter(pk__in=large)
    assert all(d.last_checked_at and d.next_check_at > timezone.now() for d in after)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a second process needs a server")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_chunk_leaves_its_rows_to_the_next_after_the_lease(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    domains = [_domain(trio, f"k{i}.{label}.example.test") for i in range(3)]
    publish_records(dns, domains[0])  # only the first is ready when the worker runs
    SendingDomain.objects.update(next_check_at=timezone.now())
    ids = claim_due()
    database = connection.settings_dict
    # The worker process dies (SIGKILL, as an OOM kill would) right after the chunk's
    # transitions committed: one domain verified with its event, none of the chunk
    # rescheduled.
    code = """
import os, signal, sys
import django
django.setup()
import domains.services as services
original = services._transition_many
def transition_many(*args, **kwargs):
    moved = original(*args, **kwargs)
    if moved:
        os.kill(os.getpid(), signal.SIGKILL)
    return moved
services._transition_many = transition_many
from domains.engine import check_domains
check_domains(sys.argv[1:])
"""
    worker = subprocess.run(
        [sys.executable, "-c", code, *ids],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",  # reads DNS_* from here
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
            f"{database['PORT']}/{database['NAME']}",
            "DNS_NAMESERVERS": f"127.0.0.1:{dns.port}",
            "DNS_AUTHORITATIVE_PORT": str(dns.port),
        },
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )

    assert worker.returncode == -9
    assert SendingDomain.objects.filter(status="verified").count() == 1
    assert WebhookEvent.objects.filter(type="domain.verified").count() == 1
    assert claim_due() == []  # every row is still leased to the dead worker
    for domain in domains[1:]:
        publish_records(dns, domain)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        again = claim_due()
        check_domains(again)
        assert claim_due() == []  # picked up once
    assert sorted(again) == sorted(ids)
    assert SendingDomain.objects.filter(status="verified").count() == 3
    assert WebhookEvent.objects.filter(type="domain.verified").count() == 3  # none twice


def test_a_chunk_costs_the_same_few_queries_however_many_domains_change(
    trio: OrgTrio, dns: KnotServer, label: str, django_assert_max_num_queries
) -> None:
    from audit.models import AuditEvent
    from audit.services import verify_chain

    def chunk(n: int, prefix: str) -> list[str]:
        domains = [_domain(trio, f"{prefix}{i}.{label}.example.test") for i in range(n)]
        for domain in domains:
            publish_records(dns, domain)
        return [d.pk for d in domains]

    small, large = chunk(2, "vs"), chunk(12, "vl")
    report = check_at_flat_cost(django_assert_max_num_queries, 20, small, large)

    assert report.outcomes["verified"] == 12
    assert SendingDomain.objects.filter(status="verified").count() == 14
    verified = WebhookEvent.objects.filter(type="domain.verified")
    assert sorted(e.payload["data"]["object"]["id"] for e in verified) == sorted(small + large)
    audited = AuditEvent.objects.filter(action="domain.verified", organization=trio.organization)
    assert sorted(e.targets[0]["id"] for e in audited) == sorted(small + large)
    assert verify_chain([trio.organization.pk]) == []
