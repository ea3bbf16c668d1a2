"""Publishes 2,000 events to a loopback receiver with a real Celery worker running
(PostgreSQL, Redis), and prints deliveries per second and the median and p99 latency from
commit to receipt. Target: p50 under 1 s.

    .venv/bin/python bench/webhooks.py [--events 2000] [--pool threads] [--concurrency 16]

Needs the machine's PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379);
it uses its own database `dk_bench_webhooks` and Redis database 7, and removes neither's
other data."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import celery_worker, fresh_database

ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DJANGO_DEBUG": "false",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dk_bench_webhooks",
    "REDIS_URL": "redis://127.0.0.1:6379/7",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "LOG_LEVEL": "WARNING",
}


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                now = time.time()
                with receiver.lock:
                    receiver.arrivals.setdefault(self.headers["webhook-id"], now)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--pool", default="threads")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    fresh_database("dk_bench_webhooks", 7, ENV)
    os.environ.update(ENV)
    import django

    django.setup()
    from django.db import transaction

    from accounts.services import organization_create, user_get_or_create
    from webhooks.models import WebhookDelivery
    from webhooks.services import endpoint_create, publish

    receiver = Receiver()
    owner, _ = user_get_or_create(email="bench@example.test")
    organization = organization_create(name="Bench", owner=owner)
    endpoint_create(organization=organization, url=receiver.url)

    worker = celery_worker(pool=args.pool, concurrency=args.concurrency, env=ENV)
    try:
        warm = publish(organization=organization, type="webhook.test", obj={"id": "warmup"})
        deadline = time.time() + 60
        while warm.pk not in receiver.arrivals and time.time() < deadline:
            time.sleep(0.05)
        if warm.pk not in receiver.arrivals:
            raise SystemExit("the worker did not deliver the warm-up event within 60 s")

        committed: dict[str, float] = {}
        started = time.time()
        for i in range(args.events):
            with transaction.atomic():
                event = publish(
                    organization=organization,
                    type="domain.verified",
                    obj={"id": f"dom_{i}", "name": f"mail{i}.example.test", "status": "verified"},
                )
            committed[event.pk] = time.time()  # on_commit has enqueued it by now
        published = time.time()

        deadline = time.time() + 300
        while len(set(committed) & set(receiver.arrivals)) < len(committed):
            if time.time() > deadline:
                break
            time.sleep(0.05)
        received = {k: receiver.arrivals[k] for k in committed if k in receiver.arrivals}
        finished = max(received.values())
        failed = WebhookDelivery.objects.exclude(status="succeeded").count()
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    latencies = sorted(received[k] - committed[k] for k in received)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"events: {args.events}  worker: --pool {args.pool} --concurrency {args.concurrency}")
    print(f"published in {published - started:.1f} s ({args.events / (published - started):.0f}/s)")
    print(f"delivered: {len(received)}/{args.events}  not succeeded: {failed}")
    print(f"deliveries per second: {len(received) / (finished - started):.0f}")
    print(
        f"latency commit -> receipt: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms  (target p50 < 1000 ms)"
    )


if __name__ == "__main__":
    main()
