"""Adds a sending domain, publishes its records in a loopback Knot DNS server as a
customer would, and measures the seconds until it is verified with only beat and a worker
running (nobody clicks verify). Prints each run and the median. Target: under 90 s.

    .venv/bin/python bench/time_to_verified.py [--runs 5]

Needs the machine's PostgreSQL and Redis (database `dk_bench_verify`, Redis db 8) and knotd."""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import CELERY, ROOT, celery_worker, fresh_database
from tests.dns_server import KnotServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        knot = KnotServer(Path(directory)).start()
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dk_bench_verify",
            "REDIS_URL": "redis://127.0.0.1:6379/8",
            "DNS_NAMESERVERS": f"127.0.0.1:{knot.port}",
            "DNS_AUTHORITATIVE_PORT": str(knot.port),
            "SERVICE_DOMAIN": "dk-service.test",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(env)
        fresh_database("dk_bench_verify", 8)

        import django

        django.setup()
        from accounts.services import organization_create, user_get_or_create
        from domains.models import SendingDomain
        from domains.services import sending_domain_create
        from tests.dns_server import publish_records

        owner, _ = user_get_or_create(email="bench@example.test")
        organization = organization_create(name="Bench", owner=owner)
        processes = [
            celery_worker(pool="prefork", concurrency=2),
            subprocess.Popen([CELERY, "-A", "config", "beat", "--loglevel", "WARNING"], cwd=ROOT),
        ]
        results = []
        try:
            time.sleep(5)  # let both processes connect
            for _ in range(args.runs):
                name = f"mail.b{secrets.token_hex(4)}.example.test"
                domain = sending_domain_create(organization=organization, name=name)
                started = time.monotonic()
                publish_records(knot, domain)
                while True:
                    domain.refresh_from_db()
                    if domain.status == SendingDomain.Status.VERIFIED:
                        break
                    if time.monotonic() - started > 300:
                        raise SystemExit(f"{name} not verified after 300 s")
                    time.sleep(0.5)
                seconds = time.monotonic() - started
                results.append(seconds)
                print(f"run {len(results)}: verified after {seconds:.1f} s")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            knot.stop()
    print(f"median of {len(results)}: {statistics.median(results):.1f} s  (target < 90 s)")


if __name__ == "__main__":
    main()
