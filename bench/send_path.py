"""The warmup cap check's cost inside the send path: POST /api/v1/emails end to end (API
key, validation, the cached domain lookup, the message row, DKIM signing, SMTP to a
loopback sink) from a domain in warmup (the day's counter is taken atomically) against the
same path from a domain with no cap (no counter). Prints sends per second for each and
their ratio, for the Redis counter and for the database counter. Target: at least 0.9.

    .venv/bin/python bench/send_path.py [--sends 600]

Needs the machine's PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379);
it uses its own database `dk_bench_send` and Redis database 8."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import fresh_database

ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DJANGO_DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dk_bench_send",
    "REDIS_URL": "redis://127.0.0.1:6379/8",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_ALLOW_TEST_DOMAINS": "true",
    "API_RATE_LIMIT": "1000000/min",
    "LOG_LEVEL": "WARNING",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=600, help="per path and counter")
    args = parser.parse_args()

    fresh_database("dk_bench_send", 8, ENV)
    sink_module = __import__("tests.smtp_sink", fromlist=["SmtpSink"])
    sink = sink_module.SmtpSink().start()
    os.environ.update({**ENV, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(sink.port)})
    import django

    django.setup()
    from django.test import Client, override_settings
    from django.utils import timezone

    from accounts.services import api_key_create, organization_create, user_get_or_create
    from domains.models import SendingDomain
    from domains.services import sending_domain_create

    owner, _ = user_get_or_create(email="bench@example.test")
    organization = organization_create(name="Bench", owner=owner)
    key = api_key_create(organization=organization, name="bench", created_by=owner).raw_key
    capped = sending_domain_create(organization=organization, name="capped.example.test")
    free = sending_domain_create(organization=organization, name="free.example.test")
    SendingDomain.objects.filter(pk__in=[capped.pk, free.pk]).update(status="verified")
    # day 13 of 14: a cap of 409,600 a day, so every send is counted and none refused
    SendingDomain.objects.filter(pk=capped.pk).update(
        warmup_started_at=timezone.now() - timedelta(days=13), warmup_total_days=14
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def send(domain: SendingDomain) -> None:
        response = client.post(
            "/api/v1/emails",
            {
                "from": f"news@{domain.name}",
                "to": ["ada@example.org"],
                "subject": "Your receipt",
                "text": "Thanks for your order.",
                "html": "<p>Thanks for your order.</p>",
            },
            content_type="application/json",
        )
        if response.status_code != 201:
            raise SystemExit(f"send failed: {response.status_code} {response.content[:300]!r}")

    def run() -> tuple[float, float]:
        """Sends alternate one by one between the two paths, so drift in the machine's
        speed falls on both alike; each path's figure is its median send."""
        timings: dict[str, list[float]] = {"capped": [], "free": []}
        for domain in (capped, free):  # warm both paths: caches, connections, key objects
            for _ in range(20):
                send(domain)
        for i in range(args.sends):
            order = [("capped", capped), ("free", free)]
            for name, domain in order if i % 2 == 0 else reversed(order):
                started = time.perf_counter()
                send(domain)
                timings[name].append(time.perf_counter() - started)
        per_send = {name: statistics.median(values) for name, values in timings.items()}
        return 1 / per_send["capped"], 1 / per_send["free"]

    results = {}
    results["redis"] = run()
    with override_settings(REDIS_URL=""):  # the counter falls back to the database row
        results["database"] = run()
    sink.stop()

    print(f"sends per path and counter: {args.sends}, alternating; rates from median sends")
    for counter, (with_cap, without) in results.items():
        print(
            f"{counter:>8} counter: with cap check {with_cap:6.0f}/s, without {without:6.0f}/s, "
            f"ratio {with_cap / without:.3f}  (target >= 0.9)"
        )
    print(f"messages received by the sink: {len(sink.received)}")


if __name__ == "__main__":
    main()
