"""One full poll cycle over N due sending domains (local provider, records in a loopback
Knot DNS, half of them correct) with the real Celery worker, against a bare concurrent
dnspython run of the same DNS questions. Prints both wall times and their ratio. Target:
ratio <= 1.5, cycle < 60 s.

    .venv/bin/python bench/poll_cycle.py [--domains 10000] [--concurrency 2]
    .venv/bin/python bench/poll_cycle.py --domains 1000 --inline    # in this process
    BENCH_PROFILE=poll.prof .venv/bin/python bench/poll_cycle.py --domains 300 --inline

Uses PostgreSQL (database `dk_bench_poll`), Redis (db 9, the broker) and knotd. The cycle
is what beat starts: claim every due row, one task per chunk of 50, and the worker's
processes (prefork, the machine's core count by default) each check a chunk in one
concurrent DNS batch, decide, and write. The clock stops when every domain has been
checked. The DNS questions are those the same chunks ask, zone walks included, recorded by
a dry run of the checks in this process beforehand (the bare run asks exactly these).

The bare run is plain dnspython in one process: its stub resolver for the public view, a
query each for the authoritative view, 64 at a time. The cycle's checks share one socket
per server within a chunk (dnscheck.transport) and run in the worker's processes, so the
ratio can be under 1."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import dns.asyncquery
import dns.asyncresolver
import dns.message
import dns.nameserver
import dns.rdatatype
import dns.resolver

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import (
    celery_worker,
    fresh_database,
    local_record_rows,
    local_sending_domains,
)
from tests.dns_server import KnotServer, as_typed


async def bare(port: int, questions: list[tuple[str, str, str]], concurrency: int = 64) -> float:
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver("127.0.0.1", port)]
    resolver.cache = None
    limit = asyncio.Semaphore(concurrency)

    async def one(view: str, name: str, rdtype: str) -> None:
        async with limit:
            if view == "authoritative":
                query = dns.message.make_query(name + ".", rdtype)
                await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=2)
            else:
                with contextlib.suppress(dns.resolver.NXDOMAIN):  # an answer, as in the check
                    await resolver.resolve(name + ".", rdtype, raise_on_no_answer=False)

    started = time.perf_counter()
    answers = await asyncio.gather(*(one(*q) for q in questions), return_exceptions=True)
    elapsed = time.perf_counter() - started
    failed = [a for a in answers if isinstance(a, Exception)]
    if failed:
        print(f"bare run: {len(failed)} questions failed, e.g. {failed[0]!r}")
    return elapsed


def run_with_worker(total: int, concurrency: int) -> tuple[float, int]:
    """Starts a worker, waits until it answers, then times one dispatched cycle until every
    domain has been checked."""
    from django.utils import timezone

    from config.celery import app
    from domains.engine import poll_cycle
    from domains.models import SendingDomain

    worker = celery_worker(pool="prefork", concurrency=concurrency)
    try:
        deadline = time.time() + 60
        while not app.control.ping(timeout=0.5):
            if time.time() > deadline:
                raise SystemExit("the worker did not start within 60 s")
        since = timezone.now()
        started = time.perf_counter()
        poll_cycle(limit=total, dispatch=True)
        checked = 0
        deadline = time.time() + 600
        while checked < total and time.time() < deadline:
            time.sleep(0.1)
            checked = SendingDomain.objects.filter(last_checked_at__gte=since).count()
        return time.perf_counter() - started, checked
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--inline", action="store_true", help="no worker: run in this process")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        knot = KnotServer(Path(directory)).start()
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.local",
                "DJANGO_DEBUG": "false",
                "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dk_bench_poll",
                "REDIS_URL": "redis://127.0.0.1:6379/9",
                "DNS_NAMESERVERS": f"127.0.0.1:{knot.port}",
                "DNS_AUTHORITATIVE_PORT": str(knot.port),
                "SERVICE_DOMAIN": "dk-service.test",
                "LOG_LEVEL": "WARNING",
            }
        )
        fresh_database("dk_bench_poll", 9)

        import django

        django.setup()
        from django.utils import timezone

        from accounts.services import organization_create, user_get_or_create
        from config.dns import dns_resolver
        from dnscheck.check import check_records
        from dnscheck.resolver import DnsResolver
        from domains.engine import CHUNK_SIZE, poll_cycle
        from domains.models import DomainRecord, SendingDomain
        from domains.services import expected_records

        owner, _ = user_get_or_create(email="bench@example.test")
        organization = organization_create(name="Bench", owner=owner)
        domains = local_sending_domains(
            organization,
            (f"d{i}.poll.example.test" for i in range(args.domains)),
            next_check_at=timezone.now(),
        )
        half = set(domains[::2])  # their records are published, the others' are not
        rows, published = [], []
        for domain, record, row in local_record_rows(domains, "example.test"):
            rows.append(row)
            if domain in half:
                published.append((record.name, record.type, as_typed(record.type, record.value)))
        DomainRecord.objects.bulk_create(rows, batch_size=2000)
        knot.add_many("example.test.", published)

        # Every question, the zone walks' SOA questions included, goes through one exchange
        # (the resolvers in turn for the public view, the zone's servers for the other).
        asked: list[tuple[str, str, str]] = []
        original_exchange = DnsResolver._exchange

        async def exchange(self, question, servers, *, deadline=None, authoritative=False):
            view = "authoritative" if authoritative else "public"
            asked.append((view, question.name, question.rdtype.name))
            return await original_exchange(
                self, question, servers, deadline=deadline, authoritative=authoritative
            )

        DnsResolver._exchange = exchange
        if args.inline:
            started = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                report = profiler.runcall(poll_cycle, limit=args.domains)
                profiler.dump_stats(os.environ["BENCH_PROFILE"])  # a path for the profile
            else:
                report = poll_cycle(limit=args.domains)
            cycle = time.perf_counter() - started
            checked = report.checked
        else:
            # The dry run: the same chunks' DNS batches, nothing decided or written.
            ids = list(SendingDomain.objects.order_by("pk").values_list("pk", flat=True))
            for i in range(0, len(ids), CHUNK_SIZE):
                chunk = SendingDomain.objects.filter(pk__in=ids[i : i + CHUNK_SIZE])
                records = [
                    r for d in chunk.prefetch_related("records") for r in expected_records(d)
                ]
                asyncio.run(check_records(dns_resolver(), records))
            cycle, checked = run_with_worker(args.domains, args.concurrency)
        DnsResolver._exchange = original_exchange

        bare_seconds = asyncio.run(bare(knot.port, asked))
        knot.stop()

    verified = SendingDomain.objects.filter(status="verified").count()
    mode = "inline" if args.inline else f"worker --pool prefork --concurrency {args.concurrency}"
    print(f"domains: {args.domains}  checked: {checked}  verified: {verified}  ({mode})")
    print(f"DNS questions asked: {len(asked)}")
    print(f"full cycle (claim, DNS, decisions, events): {cycle:6.1f} s  (target < 60 s)")
    print(f"bare concurrent dnspython, same questions:  {bare_seconds:6.1f} s")
    print(f"ratio cycle/bare: {cycle / bare_seconds:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
