"""What one engine pass writes, path by path: unchanged domains (their schedule fields in
grouped updates, every record's checked_at), DNS and provider failures, SES token changes
and missing identities, a name another organization verified first, and rows replaced while
the provider is asked. Each would pass with a write dropped if it were not checked here."""

from datetime import timedelta

import pytest
from django.utils import timezone

from domains.engine import check_domains
from domains.models import DomainRecord, SendingDomain
from domains.providers import ProviderUnavailable, get_provider
from domains.services import sending_domain_create
from tests.conftest import OrgTrio
from tests.dns_server import KnotServer, publish, publish_records
from tests.domains.conftest import identity, stubbed_ses
from tests.domains.test_engine import _domain
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
TOKENS = ["tok1aaaa", "tok2bbbb", "tok3cccc"]


def _ses_domain(trio, name, tokens=TOKENS):
    with stubbed_ses() as stub:
        stub.add_response("create_email_identity", identity(tokens=tokens), {"EmailIdentity": name})
        return sending_domain_create(organization=trio.organization, name=name)


def test_an_unchanged_domain_gets_its_schedule_and_every_record_its_check_time(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    d = _domain(trio, f"p1.{label}.example.test")
    check_domains([d.pk])
    old = timezone.now() - timedelta(hours=3)
    SendingDomain.objects.filter(pk=d.pk).update(
        consecutive_failures=3, provider_error_type="STALE", last_checked_at=old
    )
    check_domains([d.pk])
    d.refresh_from_db()
    assert d.status == "pending"
    assert d.consecutive_failures == 0
    assert d.provider_error_type == ""
    assert d.last_checked_at > old + timedelta(hours=2)
    assert d.next_check_at > timezone.now()
    assert (
        DomainRecord.objects.filter(domain=d, checked_at__gt=old + timedelta(hours=2)).count()
        == d.records.count()
    )


def test_a_dns_failure_counts_and_records_when_it_looked(
    trio: OrgTrio, settings, dns: KnotServer, label: str
) -> None:
    d = _domain(trio, f"p2.{label}.example.test")
    old = timezone.now() - timedelta(hours=3)
    SendingDomain.objects.filter(pk=d.pk).update(last_checked_at=old)
    settings.DNS_NAMESERVERS, settings.DNS_TIMEOUT = "127.0.0.1:9", 0.3
    report = check_domains([d.pk])
    d.refresh_from_db()
    assert report.outcomes["transient"] == 1
    assert d.consecutive_failures == 1
    assert d.last_checked_at > old + timedelta(hours=2)


def test_a_provider_failure_counts_and_leaves_last_checked_alone(
    trio: OrgTrio, ses, dns: KnotServer, label: str
) -> None:
    name = f"p3.{label}.example.test"
    d = _ses_domain(trio, name)
    old = timezone.now() - timedelta(hours=3)
    SendingDomain.objects.filter(pk=d.pk).update(last_checked_at=old)
    with stubbed_ses() as stub:
        for _ in range(3):
            stub.add_client_error("get_email_identity", "TooManyRequestsException", "slow", 429)
        report = check_domains([d.pk])
    d.refresh_from_db()
    assert report.outcomes["transient"] == 1
    assert d.consecutive_failures == 1
    assert d.last_checked_at == old


def test_ses_error_types_of_unchanged_domains_are_written_each_its_own(
    trio: OrgTrio, ses, dns: KnotServer, label: str
) -> None:
    names = [f"p4{i}.{label}.example.test" for i in range(3)]
    ds = [_ses_domain(trio, n) for n in names]
    SendingDomain.objects.filter(pk=ds[2].pk).update(provider_error_type="OLD")
    errs = ["HOST_NOT_FOUND", "", ""]
    with stubbed_ses() as stub:
        for n in SendingDomain.objects.filter(pk__in=[d.pk for d in ds]).values_list(
            "name", flat=True
        ):
            e = dict(zip(names, errs, strict=True))[n]
            stub.add_response(
                "get_email_identity",
                identity(tokens=TOKENS, error_type=e or None),
                {"EmailIdentity": n},
            )
        report = check_domains([d.pk for d in ds])
    assert report.outcomes["unchanged"] == 3
    got = {
        d.name: d.provider_error_type
        for d in SendingDomain.objects.filter(pk__in=[d.pk for d in ds])
    }
    assert got == dict(zip(names, errs, strict=True))


def test_new_ses_tokens_found_by_the_engine_get_checked_records(
    trio: OrgTrio, ses, dns: KnotServer, label: str
) -> None:
    name = f"p5.{label}.example.test"
    d = _ses_domain(trio, name)
    other = _ses_domain(trio, f"p5b.{label}.example.test")
    new = ["new1xxxx", "new2yyyy", "new3zzzz"]
    for t in new:
        dns_publish = {
            "type": "CNAME",
            "hostname": f"{t}._domainkey.{name}",
            "value": f"{t}.dkim.amazonses.com",
        }
        publish(dns, dns_publish)
    with stubbed_ses() as stub:
        stub.add_response(
            "get_email_identity",
            identity(tokens=new, verified=True, dkim_status="SUCCESS"),
            {"EmailIdentity": name},
        )
        stub.add_response(
            "get_email_identity", identity(tokens=TOKENS), {"EmailIdentity": other.name}
        )
        check_domains([d.pk, other.pk])
    d.refresh_from_db()
    assert d.status == "verified"
    rows = list(DomainRecord.objects.filter(domain=d))
    assert sorted(r.hostname.split(".")[0] for r in rows) == sorted(new)
    assert all(r.status == "verified" and r.checked_at for r in rows), [
        (r.hostname, r.status, r.checked_at) for r in rows
    ]
    assert WebhookEvent.objects.filter(type="domain.verified").count() == 1


def test_an_ses_identity_deleted_outside_is_recreated_by_the_engine(
    trio: OrgTrio, ses, dns: KnotServer, label: str
) -> None:
    name = f"p6.{label}.example.test"
    d = _ses_domain(trio, name)
    SendingDomain.objects.filter(pk=d.pk).update(consecutive_failures=2)
    with stubbed_ses() as stub:
        stub.add_client_error("get_email_identity", "NotFoundException", "gone", 404)
        stub.add_response(
            "create_email_identity", identity(tokens=["re1", "re2", "re3"]), {"EmailIdentity": name}
        )
        check_domains([d.pk])
    d.refresh_from_db()
    assert (d.status, d.provider_error_type, d.consecutive_failures) == (
        "pending",
        "IDENTITY_MISSING",
        0,
    )
    assert sorted(r.hostname.split(".")[0] for r in d.records.all()) == ["re1", "re2", "re3"]


def test_a_name_verified_elsewhere_first_is_marked_taken_without_an_event(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    name = f"p7.{label}.example.test"
    mine = _domain(trio, name)
    theirs = sending_domain_create(organization=trio.other_organization, name=name)
    SendingDomain.objects.filter(pk=theirs.pk).update(status="verified")
    publish_records(dns, mine)
    old = timezone.now() - timedelta(hours=3)
    SendingDomain.objects.filter(pk=mine.pk).update(last_checked_at=old, consecutive_failures=2)
    check_domains([mine.pk])
    mine.refresh_from_db()
    assert mine.status == "pending"
    assert set(mine.records.values_list("hint", flat=True)) == {"domain_taken"}
    assert not WebhookEvent.objects.filter(type="domain.verified").exists()
    assert mine.consecutive_failures == 0


def test_a_verify_click_reads_fresh_records(v1, trio: OrgTrio, dns: KnotServer, label: str) -> None:
    d = _domain(trio, f"p9.{label}.example.test")
    v1.get(f"/api/v1/domains/{d.pk}")  # the viewset's prefetched records, before
    publish_records(dns, d)
    after = v1.post(f"/api/v1/domains/{d.pk}/verify").json()["data"]
    assert after["domain"]["status"] == "verified"
    assert {r["status"] for r in after["domain"]["records"]} == {"verified"}


def test_a_verify_click_that_brings_new_ses_tokens_checks_the_new_records(
    v1, trio: OrgTrio, ses, dns: KnotServer, label: str
) -> None:
    # The viewset loads the domain with its records prefetched; SES answers with new
    # tokens, so the rows are replaced before DNS is asked: the check must use the new ones.
    name = f"p10.{label}.example.test"
    d = _ses_domain(trio, name)
    new = ["new1xxxx", "new2yyyy", "new3zzzz"]
    for t in new:
        publish(
            dns,
            {
                "type": "CNAME",
                "hostname": f"{t}._domainkey.{name}",
                "value": f"{t}.dkim.amazonses.com",
            },
        )
    with stubbed_ses() as stub:
        stub.add_response(
            "get_email_identity",
            identity(tokens=new, verified=True, dkim_status="SUCCESS"),
            {"EmailIdentity": name},
        )
        answer = v1.post(f"/api/v1/domains/{d.pk}/verify")
    records = answer.json()["data"]["domain"]["records"]
    assert answer.status_code == 200, answer.content
    assert sorted(r["hostname"].split(".")[0] for r in records) == sorted(new)
    assert {r["status"] for r in records} == {"verified"}
    assert all(r.checked_at for r in DomainRecord.objects.filter(domain=d))


def test_a_record_changed_while_the_provider_is_asked(
    trio: OrgTrio, dns: KnotServer, label: str, monkeypatch
) -> None:
    a = _domain(trio, f"a.{label}.example.test")
    b = _domain(trio, f"b.{label}.example.test")
    check_domains([a.pk, b.pk])  # nothing published: rows pending / not_found
    publish_records(dns, b)  # b's current values are in DNS now
    backend = type(get_provider(a.provider))
    original = backend.status
    calls = []

    def status(self, domain):
        if not calls:  # meanwhile, b's SPF value is replaced (as _sync_records does)
            DomainRecord.objects.filter(domain=b, purpose="spf").update(
                value="v=spf1 include:new.example ~all", status="pending", hint="", seen_value=""
            )
        calls.append(domain.pk)
        return original(self, domain)

    monkeypatch.setattr(backend, "status", status)
    check_domains([a.pk, b.pk])
    row = DomainRecord.objects.get(domain=b, purpose="spf")
    # Judged by the new value, which is not published: DNS holds the old one.
    assert (row.status, row.hint) == ("failed", "spf_include_missing")
    assert "include:_spf.dk-service.test" in row.seen_value


def test_a_provider_failure_never_rewinds_a_concurrent_check_time(
    trio: OrgTrio, label: str, monkeypatch
) -> None:
    d = _domain(trio, f"r.{label}.example.test")
    old = timezone.now() - timedelta(hours=3)
    SendingDomain.objects.filter(pk=d.pk).update(last_checked_at=old)
    backend = type(get_provider(d.provider))
    fresh = timezone.now()

    def status(self, domain):
        # meanwhile, an owner's re-check (API) finished and stored its check time
        SendingDomain.objects.filter(pk=domain.pk).update(last_checked_at=fresh)
        raise ProviderUnavailable("slow down")

    monkeypatch.setattr(backend, "status", status)
    report = check_domains([d.pk])
    d.refresh_from_db()
    assert report.outcomes["transient"] == 1
    assert d.last_checked_at == fresh, (d.last_checked_at, fresh)


def test_a_name_taken_inside_a_chunk_leaves_the_rest_of_the_chunk_to_move(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    # Two organizations added the same name and both published its records: the chunk's
    # batch cannot verify both, so it moves them one at a time and the first one wins.
    name = f"p12.{label}.example.test"
    mine = _domain(trio, name)
    theirs = sending_domain_create(organization=trio.other_organization, name=name)
    for row in mine.records.all():  # one DKIM key for both, so one set of records serves
        DomainRecord.objects.filter(domain=theirs, purpose=row.purpose).update(value=row.value)
    bystander = _domain(trio, f"p13.{label}.example.test")
    for domain in (mine, bystander):
        publish_records(dns, domain)

    report = check_domains([mine.pk, theirs.pk, bystander.pk])

    statuses = dict(SendingDomain.objects.values_list("pk", "status"))
    assert statuses[bystander.pk] == "verified"
    assert sorted([statuses[mine.pk], statuses[theirs.pk]]) == ["pending", "verified"]
    loser = mine if statuses[mine.pk] == "pending" else theirs
    assert set(loser.records.values_list("hint", flat=True)) == {"domain_taken"}
    assert report.outcomes["verified"] == 2
    events = WebhookEvent.objects.filter(type="domain.verified")
    assert len(events) == 2
    assert loser.pk not in {e.payload["data"]["object"]["id"] for e in events}


def test_a_domain_another_check_moved_first_is_not_moved_again(
    trio: OrgTrio, dns: KnotServer, label: str
) -> None:
    from domains.providers import ProviderStatus
    from domains.services import Move, _transition_many

    stale = _domain(trio, f"p14.{label}.example.test")
    fresh = _domain(trio, f"p15.{label}.example.test")
    SendingDomain.objects.filter(pk=stale.pk).update(status="verified")  # behind its back
    evidence = ProviderStatus(verified=None)

    moved = _transition_many(
        [Move(stale, "verified", evidence), Move(fresh, "verified", evidence)], timezone.now()
    )

    assert moved == {fresh.pk}
    assert (stale.status, fresh.status) == ("verified", "verified")  # read again / moved
    events = WebhookEvent.objects.filter(type="domain.verified")
    assert [e.payload["data"]["object"]["id"] for e in events] == [fresh.pk]
